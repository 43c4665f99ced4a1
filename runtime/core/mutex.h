/* Private: a plain mutex, the one threading primitive the library needs. */
#ifndef RM_MUTEX_H
#define RM_MUTEX_H

#ifdef _WIN32
/* An SRWLOCK (one pointer), declared here without <windows.h>: this header reaches nearly
 * every file of the library, and windows.h would cost each of them ~80k lines. */
typedef struct rm_mutex {
    void *srwlock;
} rm_mutex;
/* SRWLOCK_INIT */
#define RM_MUTEX_INITIALIZER                                                                       \
    { 0 }
#else
#include <pthread.h>
typedef pthread_mutex_t rm_mutex;
#define RM_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#endif

/* A static rm_mutex may be initialised with RM_MUTEX_INITIALIZER instead (never destroyed). */
int rm_mutex_init(rm_mutex *m); /* 0 on success */
void rm_mutex_destroy(rm_mutex *m);
void rm_mutex_lock(rm_mutex *m);
void rm_mutex_unlock(rm_mutex *m);

#endif
