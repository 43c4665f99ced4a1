/* Private: a plain mutex, the one threading primitive the library needs. */
#ifndef RM_MUTEX_H
#define RM_MUTEX_H

#ifdef _WIN32
/* An SRWLOCK (one pointer), declared here without <windows.h>: this header reaches nearly
 * every file of the library, and windows.h would cost each of them ~80k lines. */
typedef struct rm_mutex {
    void *srwlock;
} rm_mutex;
#else
#include <pthread.h>
typedef pthread_mutex_t rm_mutex;
#endif

int rm_mutex_init(rm_mutex *m); /* 0 on success */
void rm_mutex_destroy(rm_mutex *m);
void rm_mutex_lock(rm_mutex *m);
void rm_mutex_unlock(rm_mutex *m);

#endif
