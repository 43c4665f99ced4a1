#include "core/mutex.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

_Static_assert(sizeof(rm_mutex) == sizeof(SRWLOCK), "rm_mutex must hold an SRWLOCK");

int rm_mutex_init(rm_mutex *m) {
    InitializeSRWLock((PSRWLOCK)m);
    return 0;
}
void rm_mutex_destroy(rm_mutex *m) {
    (void)m;
}
void rm_mutex_lock(rm_mutex *m) {
    AcquireSRWLockExclusive((PSRWLOCK)m);
}
void rm_mutex_unlock(rm_mutex *m) {
    ReleaseSRWLockExclusive((PSRWLOCK)m);
}
#else
int rm_mutex_init(rm_mutex *m) {
    return pthread_mutex_init(m, NULL);
}
void rm_mutex_destroy(rm_mutex *m) {
    pthread_mutex_destroy(m);
}
void rm_mutex_lock(rm_mutex *m) {
    pthread_mutex_lock(m);
}
void rm_mutex_unlock(rm_mutex *m) {
    pthread_mutex_unlock(m);
}
#endif
