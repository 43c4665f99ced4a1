/* Private: the monotonic clock of the tuner, the operand-path measurement and bench/kernels/,
 * behind one interface for POSIX systems and Windows. (The library's other OS calls live in
 * io/file_map.c and core/mutex.c; the installed tools use only the public headers and have
 * their own clock, tools/tool_clock.c.) */
#ifndef RM_PLATFORM_H
#define RM_PLATFORM_H

/* Milliseconds from a fixed arbitrary origin, on a monotonic clock: only differences mean
 * anything. Sub-microsecond resolution where the OS offers it. */
double rm_now_ms(void);

#endif
