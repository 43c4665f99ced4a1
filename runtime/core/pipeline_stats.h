/* Private: what the driver compiled a pipeline into (REPMLP_CONTEXT_COMPILE_STATS), through
 * VK_KHR_pipeline_executable_properties: its statistics and the hottest loop of its
 * disassembly. */
#ifndef RM_PIPELINE_STATS_H
#define RM_PIPELINE_STATS_H

#include "core/context.h"
#include "repmlp/session.h"

/* Every statistic REPMLP_NOT_REPORTED, reported 0. */
void rm_pipeline_stats_clear(repmlp_compile_stats *out);

/* Reads the statistics and disassembly of `pipeline` (created with the capture flags, on a
 * context with caps.pipeline_stats) into *out, except the workgroup and lanes fields. Fields
 * the driver does not report are REPMLP_NOT_REPORTED; a failing query leaves reported 0. */
void rm_pipeline_stats_read(repmlp_context *ctx, VkPipeline pipeline, repmlp_compile_stats *out);

/* The instruction mix of the hottest loop of a disassembly (text, one instruction a line): of
 * the loops (a label, then a backward branch to it) the shortest one holding at least half the
 * FMA instructions of the loop with the most. loop_* stay REPMLP_NOT_REPORTED without one. */
void rm_pipeline_stats_parse_loop(const char *text, repmlp_compile_stats *out);

/* Fills workgroup, subgroup_size, lanes_active and lanes from a workgroup of wg[0..2]
 * invocations and the subgroup width it runs with. */
void rm_pipeline_stats_lanes(const uint32_t wg[3], uint32_t subgroup_size,
                             repmlp_compile_stats *out);

#endif
