/* Private: the few operating-system services the tools need beyond standard C, behind one
 * interface so that the tools build unchanged on POSIX systems and on Windows. (The library's
 * own OS calls live in io/file_map.c and core/mutex.c; it times with rm_now_ms too.) */
#ifndef RM_PLATFORM_H
#define RM_PLATFORM_H

/* Milliseconds from a fixed arbitrary origin, on a monotonic clock: only differences mean
 * anything. Sub-microsecond resolution where the OS offers it. */
double rm_now_ms(void);

#endif
