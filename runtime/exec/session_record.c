/* Recording a session into the application's command buffers, whole or in parts (an engine
 * spreads a network over several frames). */
#include "core/error.h"
#include "core/sized_struct.h"
#include "exec/session.h"
#include "repmlp/vulkan.h"

void rm_session_record_range(const repmlp_session *s, VkCommandBuffer cmd, int first, int end) {
    if (first >= end) return;
    if (first > 0) rm_barrier_compute(s->ctx, cmd); /* after the previous part's writes */
    const rm_dispatch *prev = NULL; /* the application may have bound anything before */
    if (first == 0 && s->image_bound) {
        rm_dispatch_record(s->ctx, cmd, &s->image_dispatch, prev);
        rm_barrier_compute(s->ctx, cmd);
        prev = &s->image_dispatch;
    }
    if (first == 0 && s->copy_bound_input) {
        rm_dispatch_record(s->ctx, cmd, &s->input_copy, prev);
        rm_barrier_compute(s->ctx, cmd);
        prev = &s->input_copy;
    }
    for (int i = first; i < end; i++) {
        if (i > first) rm_barrier_compute(s->ctx, cmd);
        rm_dispatch_record(s->ctx, cmd, &s->dispatches[i], prev);
        prev = &s->dispatches[i];
    }
    if (end == s->graph.node_count && s->topk) {
        rm_barrier_compute(s->ctx, cmd);
        rm_dispatch_record(s->ctx, cmd, &s->topk_dispatch, prev);
    }
}

/* A node's estimated cost: its FLOPs plus 4 per byte it moves (a nominal balance between
 * arithmetic and memory traffic) plus a fixed 10^4 for the dispatch itself. */
static double node_cost(const repmlp_session *s, int i) {
    const rm_node *n = &s->graph.nodes[i];
    return (double)rm_op_kinds[n->kind].flops(n) + 4.0 * (double)rm_session_node_bytes(s, i) + 1e4;
}

/* Nodes [*first, *end) of part `part`: node i goes to the part its cost midpoint falls in, so
 * parts are contiguous, cover every node once, and hold about equal estimated cost. */
static void part_range(const repmlp_session *s, uint32_t part, uint32_t parts, int *first, int *end,
                       double *fraction) {
    double total = 0;
    for (int i = 0; i < s->graph.node_count; i++) total += node_cost(s, i);
    double before = 0, mine = 0;
    *first = *end = -1;
    for (int i = 0; i < s->graph.node_count; i++) {
        double c = node_cost(s, i);
        uint32_t p = (uint32_t)((before + c / 2) / total * parts);
        if (p >= parts) p = parts - 1;
        before += c;
        if (p < part) continue;
        if (p > part) break;
        if (*first < 0) *first = i;
        *end = i + 1;
        mine += c;
    }
    if (*first < 0) *first = *end = 0; /* an empty part (more parts than nodes) */
    *fraction = total > 0 ? mine / total : 0;
}

static repmlp_status check_part(const repmlp_session *s, uint32_t part, uint32_t parts,
                                const char *what) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: NULL session", what);
    if (parts == 0 || part >= parts)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: part %u of %u does not exist", what,
                       part, parts);
    return REPMLP_OK;
}

repmlp_status repmlp_session_part_info(const repmlp_session *s, uint32_t part, uint32_t parts,
                                       repmlp_part_info *out) {
    repmlp_status st = check_part(s, part, parts, "repmlp_session_part_info");
    if (st != REPMLP_OK) return st;
    if (!out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_part_info: NULL out");
    int first, end;
    part_range(s, part, parts, &first, &end, &out->estimated_fraction);
    out->first_node = (uint32_t)first;
    out->node_count = (uint32_t)(end - first);
    out->total_nodes = (uint32_t)s->graph.node_count;
    return REPMLP_OK;
}

repmlp_status rm_session_record_part(repmlp_session *s, VkCommandBuffer cmd, uint32_t part,
                                     uint32_t parts) {
    int first, end;
    double fraction;
    part_range(s, part, parts, &first, &end, &fraction);
    rm_session_record_range(s, cmd, first, end);
    return REPMLP_OK;
}

/* Checks, then notes who holds the current generation (done NULL: untracked), then records. */
static repmlp_status record_held(repmlp_session *s, VkCommandBuffer cmd, uint32_t part,
                                 uint32_t parts, const repmlp_completion *done, const char *what) {
    repmlp_status st = check_part(s, part, parts, what);
    if (st != REPMLP_OK) return st;
    if (!cmd) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: NULL command buffer", what);
    st = rm_check_alive(s->ctx);
    if (st == REPMLP_OK) st = rm_check_runs(s->ctx, what);
    if (st == REPMLP_OK) st = rm_session_ready(s);
    if (st == REPMLP_OK) st = rm_session_hold(s, done);
    if (st != REPMLP_OK) return rm_fail_prefix(st, "%s", what);
    return rm_session_record_part(s, cmd, part, parts);
}

repmlp_status repmlp_session_record(repmlp_session *s, VkCommandBuffer cmd) {
    return record_held(s, cmd, 0, 1, NULL, "repmlp_session_record");
}

repmlp_status repmlp_session_record_part(repmlp_session *s, VkCommandBuffer cmd, uint32_t part,
                                         uint32_t parts) {
    return record_held(s, cmd, part, parts, NULL, "repmlp_session_record_part");
}

repmlp_status repmlp_session_record_tracked(repmlp_session *s, VkCommandBuffer cmd, uint32_t part,
                                            uint32_t parts, const repmlp_completion *caller_done) {
    if (!caller_done)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_record_tracked: NULL completion (untracked recordings: "
                       "repmlp_session_record_part)");
    repmlp_completion done;
    repmlp_status st =
        rm_sized_struct_read(&done, sizeof done, caller_done,
                             RM_SIZE_THROUGH(repmlp_completion, fence), "repmlp_completion");
    if (st != REPMLP_OK) return st;
    return record_held(s, cmd, part, parts, &done, "repmlp_session_record_tracked");
}
