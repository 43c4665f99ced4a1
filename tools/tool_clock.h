/* The tools' clock: milliseconds from an arbitrary origin on a monotonic clock, where the OS has
 * one (only differences mean anything). */
#ifndef TOOL_CLOCK_H
#define TOOL_CLOCK_H

double tool_now_ms(void);

#endif
