/* Device timestamps for the tuner and the profiler: stamps written in order with the work
 * they bracket, and their difference within the queue's valid bits. */
#ifndef RM_TIMESTAMP_H
#define RM_TIMESTAMP_H

#include <stdint.h>

#include "core/context.h"

/* Ticks from start to end, counted modulo 2^valid_bits (the bits above are undefined), so a
 * counter that wrapped between the two stamps still gives the true distance. */
uint64_t rm_timestamp_ticks(uint64_t start, uint64_t end, uint32_t valid_bits);

/* Milliseconds from start to end on ctx's queue (rm_timestamp_ticks times the period). */
double rm_timestamp_ms(const repmlp_context *ctx, uint64_t start, uint64_t end);

/* Writes the start stamp `query`, after all work recorded or submitted before it has finished
 * (a stamp at the top of the pipe is not ordered after the preceding work). */
void rm_timestamp_start(repmlp_context *ctx, VkCommandBuffer cmd, VkQueryPool pool, uint32_t query);

/* Writes the end stamp `query`, after everything recorded before it has finished. */
void rm_timestamp_end(repmlp_context *ctx, VkCommandBuffer cmd, VkQueryPool pool, uint32_t query);

#endif
