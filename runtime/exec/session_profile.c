/* Per-op device time from timestamp queries, for benchmarks. Recorded into its own command
 * buffer so the session's replayed one stays free of queries. */
#include <string.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/error.h"
#include "exec/session.h"
#include "core/pipeline.h"
#include "core/pipeline_stats.h"
#include "core/timestamp.h"
#include "repmlp/session.h"
#include "repmlp/vulkan.h"

repmlp_status rm_session_profile(repmlp_session *s, double *ms_per_node) {
    repmlp_context *ctx = s->ctx;
    if (!ctx->caps.timestamps)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "'%s' has no timestamp queries on its queue",
                       ctx->info.name);
    uint32_t n = (uint32_t)s->graph.node_count, queries = 2 * n;
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = queries};
    VkQueryPool pool;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreateQueryPool(ctx->device, &qi, ctx->vk_allocator, &pool));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateQueryPool");
    uint64_t *stamps = rm_calloc(queries, sizeof *stamps);
    VkCommandBuffer cmd;
    repmlp_status st = stamps ? rm_oneoff_begin(ctx, &cmd)
                              : rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (st == REPMLP_OK) {
        ctx->vk.vkCmdResetQueryPool(cmd, pool, 0, queries);
        for (uint32_t i = 0; i < n; i++) {
            if (i) rm_barrier_compute(ctx, cmd);
            rm_timestamp_start(ctx, cmd, pool, 2 * i);
            rm_dispatch_record(ctx, cmd, &s->dispatches[i], i ? &s->dispatches[i - 1] : NULL);
            rm_timestamp_end(ctx, cmd, pool, 2 * i + 1);
        }
        st = rm_oneoff_submit(ctx, cmd);
    }
    if (st == REPMLP_OK) {
        r = ctx->vk.vkGetQueryPoolResults(ctx->device, pool, 0, queries, queries * sizeof *stamps,
                                          stamps, sizeof *stamps,
                                          VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (r != VK_SUCCESS) st = rm_vk_fail(ctx, r, "vkGetQueryPoolResults");
    }
    if (st == REPMLP_OK)
        for (uint32_t i = 0; i < n; i++)
            ms_per_node[i] = rm_timestamp_ms(ctx, stamps[2 * i], stamps[2 * i + 1]);
    rm_free(stamps);
    ctx->vk.vkDestroyQueryPool(ctx->device, pool, ctx->vk_allocator);
    return st;
}

uint64_t rm_session_node_bytes(const repmlp_session *s, int node) {
    const rm_node *n = &s->graph.nodes[node];
    uint64_t bytes = 0;
    for (uint32_t b = 0; b < rm_op_kinds[n->kind].binding_count; b++) {
        const rm_value *v = &s->graph.values[n->args[b]];
        if (v->kind != RM_VALUE_NONE) bytes += v->count * sizeof(float);
    }
    return bytes;
}

repmlp_status rm_session_profile_part(repmlp_session *s, uint32_t part, uint32_t parts,
                                      double *ms) {
    repmlp_context *ctx = s->ctx;
    if (!ctx->caps.timestamps)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "'%s' has no timestamp queries on its queue",
                       ctx->info.name);
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = 2};
    VkQueryPool pool;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreateQueryPool(ctx->device, &qi, ctx->vk_allocator, &pool));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateQueryPool");
    VkCommandBuffer cmd;
    repmlp_status st = rm_oneoff_begin(ctx, &cmd);
    if (st == REPMLP_OK) {
        ctx->vk.vkCmdResetQueryPool(cmd, pool, 0, 2);
        rm_timestamp_start(ctx, cmd, pool, 0);
        rm_session_record_part(s, cmd, part, parts); /* waited for below: holds nothing */
        rm_timestamp_end(ctx, cmd, pool, 1);
        st = rm_oneoff_submit(ctx, cmd);
    }
    uint64_t stamps[2] = {0, 0};
    if (st == REPMLP_OK) {
        r = ctx->vk.vkGetQueryPoolResults(ctx->device, pool, 0, 2, sizeof stamps, stamps,
                                          sizeof stamps[0],
                                          VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
        if (r != VK_SUCCESS) st = rm_vk_fail(ctx, r, "vkGetQueryPoolResults");
    }
    if (st == REPMLP_OK) *ms = rm_timestamp_ms(ctx, stamps[0], stamps[1]);
    ctx->vk.vkDestroyQueryPool(ctx->device, pool, ctx->vk_allocator);
    return st;
}

/* ---- the public calls (repmlp/session.h) ---- */

uint32_t repmlp_session_op_count(const repmlp_session *s) {
    return s ? (uint32_t)s->graph.node_count : 0;
}

repmlp_status repmlp_session_op_info(const repmlp_session *s, uint32_t op, repmlp_op_info *out) {
    if (!s || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_op_info: NULL argument");
    if (op >= (uint32_t)s->graph.node_count)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_op_info: op %u of a session of %d ops", op,
                       s->graph.node_count);
    const rm_node *node = &s->graph.nodes[op];
    out->label = node->label;
    out->kind = rm_op_kinds[node->kind].name;
    out->kernel = rm_shader(s->dispatches[op].pipeline->shader)->name;
    out->flops = (double)rm_op_kinds[node->kind].flops(node);
    out->bytes = (double)rm_session_node_bytes(s, (int)op);
    return REPMLP_OK;
}

repmlp_status repmlp_session_profile(repmlp_session *s, double *ms, uint32_t count) {
    if (!s || !ms)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_profile: NULL argument");
    if (count != (uint32_t)s->graph.node_count)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_profile: room for %u ops, the session has %d", count,
                       s->graph.node_count);
    repmlp_status st = rm_check_runs(s->ctx, "repmlp_session_profile");
    if (st == REPMLP_OK) st = rm_session_ready(s);
    return st == REPMLP_OK ? rm_session_profile(s, ms) : st;
}

repmlp_status repmlp_session_profile_part(repmlp_session *s, uint32_t part, uint32_t parts,
                                          double *ms) {
    if (!s || !ms)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_profile_part: NULL argument");
    if (parts == 0 || part >= parts)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_profile_part: part %u of %u",
                       part, parts);
    repmlp_status st = rm_check_runs(s->ctx, "repmlp_session_profile_part");
    if (st == REPMLP_OK) st = rm_session_ready(s);
    return st == REPMLP_OK ? rm_session_profile_part(s, part, parts, ms) : st;
}

repmlp_status repmlp_session_op_compile_stats(const repmlp_session *s, uint32_t op,
                                              repmlp_compile_stats *out) {
    if (!s || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_op_compile_stats: NULL argument");
    if (op >= (uint32_t)s->graph.node_count)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_op_compile_stats: op %u of a session of %d ops", op,
                       s->graph.node_count);
    if (!(s->ctx->flags & REPMLP_CONTEXT_COMPILE_STATS))
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "repmlp_session_op_compile_stats: the context was created without "
                       "REPMLP_CONTEXT_COMPILE_STATS");
    const rm_pipeline *p = s->dispatches[op].pipeline;
    memset(out, 0, sizeof *out);
    if (p->stats) {
        *out = *p->stats;
    } else {
        rm_pipeline_stats_clear(out); /* no VK_KHR_pipeline_executable_properties */
    }
    uint32_t width = out->subgroup_size ? out->subgroup_size : s->ctx->caps.plan_subgroup_size;
    rm_pipeline_stats_lanes(p->spec, width, out);
    return REPMLP_OK;
}
