/* Sessions: plan memory, build dispatches, record once, replay per run. */
#include "exec/session.h"
#include "core/fault.h"
#include "repmlp/vulkan.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/sized_struct.h"
#include "exec/tune.h"
#include "graph/memplan.h"

static repmlp_status build_graph(repmlp_session *s) {
    repmlp_status st = rm_model_build(s->model, s->batch, NULL, &s->graph);
    if (st != REPMLP_OK) return st;
    for (int i = 0; i < s->graph.value_count; i++) {
        const rm_value *v = &s->graph.values[i];
        if (v->kind == RM_VALUE_INPUT) s->input_count = v->count;
        if (v->kind == RM_VALUE_OUTPUT) s->output_count = v->count;
    }
    return REPMLP_OK;
}

/* Device memory the session's buffers take (input, output, arena, a 16-byte dummy, and the
 * staging copies of input and output where device memory is not mapped). */
static uint64_t session_bytes(const repmlp_session *s) {
    uint64_t in = s->input_count * sizeof(float), out = s->output_count * sizeof(float);
    /* A buffer that is not mapped (a discrete GPU's VRAM) gets a staging copy. */
    uint64_t stage_in = rm_buffer_maps(s->ctx, RM_BUFFER_IO, in) ? 0 : in;
    uint64_t stage_out = rm_buffer_maps(s->ctx, RM_BUFFER_IO, out) ? 0 : out;
    return in + out + s->arena_bytes + 16 + stage_in + stage_out;
}

/* The graph for the session's batch and its activation arena (nothing on the device yet). */
static repmlp_status plan(repmlp_session *s) {
    repmlp_status st = build_graph(s);
    if (st == REPMLP_OK)
        st = rm_memplan(&s->graph, rm_caps_binding_alignment(&s->ctx->caps), &s->arena_bytes);
    return st;
}

/* Refuses a batch whose buffers cannot fit before anything is allocated (the memory only when
 * the session `runs`: a compile-only one allocates nothing). */
static repmlp_status check_fits(repmlp_session *s, bool runs) {
    const rm_device_caps *caps = &s->ctx->caps;
    uint64_t own = session_bytes(s), total = own + s->model->weight_bytes;
    if (runs && caps->device_local_bytes && total > caps->device_local_bytes)
        return rm_fail(REPMLP_ERROR_OUT_OF_DEVICE_MEMORY,
                       "%s: batch %u needs %llu bytes of device memory; the device has %llu",
                       s->model->path, s->batch, (unsigned long long)total,
                       (unsigned long long)caps->device_local_bytes);
    repmlp_status st = runs ? rm_memory_check(s->ctx, caps->device_local_heap, own) : REPMLP_OK;
    if (st != REPMLP_OK)
        return rm_fail_prefix(st, "%s: session of batch %u", s->model->path, s->batch);
    for (int i = 0; i < s->graph.value_count; i++) {
        /* Weights were placed at load; one larger than a binding may span is cut by its op. */
        if (s->graph.values[i].kind == RM_VALUE_WEIGHT) continue;
        uint64_t bytes = s->graph.values[i].count * sizeof(float);
        if (bytes > caps->max_storage_buffer_range)
            return rm_fail(REPMLP_ERROR_TOO_LARGE,
                           "%s: batch %u needs a %llu-byte tensor; the device binds at most %llu "
                           "bytes (maxStorageBufferRange, profile %s; use a smaller batch)",
                           s->model->path, s->batch, (unsigned long long)bytes,
                           (unsigned long long)caps->max_storage_buffer_range, caps->profile);
    }
    return REPMLP_OK;
}

static repmlp_status create_buffers(repmlp_session *s) {
    repmlp_context *ctx = s->ctx;
    repmlp_status st = rm_buffer_create(ctx, s->input_count * 4, RM_BUFFER_IO, &s->input);
    if (st == REPMLP_OK) st = rm_buffer_create(ctx, s->output_count * 4, RM_BUFFER_IO, &s->output);
    if (st == REPMLP_OK && s->arena_bytes)
        st = rm_buffer_create(ctx, s->arena_bytes, RM_BUFFER_ACTIVATIONS, &s->arena);
    if (st == REPMLP_OK) st = rm_buffer_create(ctx, 16, RM_BUFFER_ACTIVATIONS, &s->dummy);
    if (st == REPMLP_OK && !s->input.mapped)
        st = rm_buffer_create(ctx, s->input.size, RM_BUFFER_UPLOAD, &s->stage_in);
    if (st == REPMLP_OK && !s->output.mapped)
        st = rm_buffer_create(ctx, s->output.size, RM_BUFFER_READBACK, &s->stage_out);
    s->input_binding = (rm_binding){s->input.buffer, 0, s->input.size};
    s->output_binding = (rm_binding){s->output.buffer, 0, s->output.size};
    return st;
}

/* Whether any node reads the session's input through a uniform texel view (a texel-read operand
 * keeps its binding index, ops.h, so the shader's mask applies to the node's arguments). */
static bool input_read_as_texel(const repmlp_session *s) {
    for (int i = 0; i < s->graph.node_count; i++) {
        const rm_node *n = &s->graph.nodes[i];
        const rm_shader_info *info = rm_shader(s->dispatches[i].pipeline->shader);
        for (uint32_t k = 0; k < rm_op_kinds[n->kind].binding_count; k++)
            if (s->graph.values[n->args[k]].kind == RM_VALUE_INPUT && ((info->texel_mask >> k) & 1))
                return true;
    }
    return false;
}

/* Every dispatch and its pipeline; with `runs` false (compile-only) no tuning and no
 * descriptor pool. */
static repmlp_status create_dispatches(repmlp_session *s, bool runs) {
    s->dispatches = rm_calloc((size_t)s->graph.node_count, sizeof *s->dispatches);
    if (!s->dispatches) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (int i = 0; i < s->graph.node_count; i++) {
        const rm_node *n = &s->graph.nodes[i];
        repmlp_status st = rm_op_kinds[n->kind].prepare(s->ctx, n, &s->dispatches[i]);
        if (st != REPMLP_OK) return rm_fail_prefix(st, "%s: op %s", s->model->path, n->label);
    }
    repmlp_status tuned = runs ? rm_tune_session(s) : REPMLP_OK; /* may replace GEMM/conv ones */
    if (tuned != REPMLP_OK) return tuned;
    if (input_read_as_texel(s)) {
        rm_gather_params copy = {.rows = 1,
                                 .cols = (uint32_t)s->input_count,
                                 .x_rows = rm_map_stride(0),
                                 .x_cols = rm_map_stride(1)};
        repmlp_status st = s->input_count > UINT32_MAX
                               ? rm_fail(REPMLP_ERROR_TOO_LARGE, "input of 2^32 floats or more")
                               : rm_gather_prepare(s->ctx, &copy, &s->input_copy);
        if (st != REPMLP_OK) return rm_fail_prefix(st, "%s: input copy", s->model->path);
    }
    if (!runs) return REPMLP_OK;
    /* One set per dispatch (an op cut into parts takes one per part), + the input copy, the
     * image input and the softmax + top-k. */
    uint32_t sets = 3;
    for (int i = 0; i < s->graph.node_count; i++) sets += rm_dispatch_sets(&s->dispatches[i]);
    s->pool_sets = sets;
    return rm_descriptor_pool_create(s->ctx, sets, &s->pool);
}

static repmlp_status create_commands(repmlp_session *s) {
    repmlp_context *ctx = s->ctx;
    /* No per-buffer reset: a re-recording resets the whole pool (its one command buffer). */
    VkCommandPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
    };
    VkResult r = RM_VK_CREATE(
        ctx->vk.vkCreateCommandPool(ctx->device, &pool, ctx->vk_allocator, &s->command_pool));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateCommandPool");
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = s->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    r = RM_VK_CREATE(ctx->vk.vkAllocateCommandBuffers(ctx->device, &alloc, &s->command_buffer));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkAllocateCommandBuffers");
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = RM_VK_CREATE(ctx->vk.vkCreateFence(ctx->device, &fence, ctx->vk_allocator, &s->fence));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateFence");
    return REPMLP_OK;
}

static rm_binding binding_of(const repmlp_session *s, int value_id) {
    const rm_value *v = &s->graph.values[value_id];
    VkDeviceSize bytes = v->count * sizeof(float);
    switch (v->kind) {
        case RM_VALUE_INPUT:
            return s->copy_bound_input ? (rm_binding){s->input.buffer, 0, s->input.size}
                                       : s->input_binding;
        case RM_VALUE_OUTPUT:
            return s->output_binding;
        case RM_VALUE_TEMP:
            return (rm_binding){s->arena.buffer, v->offset, bytes};
        case RM_VALUE_WEIGHT: {
            const rm_weight *w = &s->model->weights[v->weight];
            return (rm_binding){s->model->weight_buffers[w->buffer].buffer, v->offset, bytes};
        }
        case RM_VALUE_NONE:
        default:
            return (rm_binding){s->dummy.buffer, 0, s->dummy.size};
    }
}

repmlp_status rm_session_record(repmlp_session *s) {
    repmlp_context *ctx = s->ctx;
    /* The application's recordings may still use the current sets and views: retired, the
     * session gets an empty pool, and the reset below touches only what nothing holds. */
    repmlp_status retired = rm_session_retire(s, false);
    if (retired != REPMLP_OK) return retired;
    VkResult r = ctx->vk.vkResetDescriptorPool(ctx->device, s->pool, 0);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkResetDescriptorPool");
    /* The session-level dispatches around the nodes (bound input copy, image input,
     * softmax + top-k); the image's binding 0 is its view, the dummy stands in. */
    s->copy_bound_input = s->input_copy.pipeline && s->input_binding.buffer != s->input.buffer;
    const rm_binding own_input = {s->input.buffer, 0, s->input.size};
    const rm_binding dummy = {s->dummy.buffer, 0, s->dummy.size};
    const struct {
        bool on;
        rm_dispatch *d;
        rm_binding b[3];
        const char *what;
    } extra[3] = {
        {s->copy_bound_input, &s->input_copy, {s->input_binding, dummy, own_input}, "input copy"},
        {s->image_bound, &s->image_dispatch, {dummy, own_input, dummy}, "image input"},
        {s->topk != 0,
         &s->topk_dispatch,
         {s->output_binding, {s->topk_buf.buffer, 0, s->topk_buf.size}, dummy},
         "softmax_topk"},
    };
    for (int e = 0; e < 3; e++) {
        if (!extra[e].on) continue;
        repmlp_status st = rm_dispatch_bind(ctx, s->pool, extra[e].d, extra[e].b);
        if (st != REPMLP_OK) return rm_fail_prefix(st, "%s: %s", s->model->path, extra[e].what);
    }
    for (int i = 0; i < s->graph.node_count; i++) {
        const rm_node *n = &s->graph.nodes[i];
        const rm_op_kind *op = &rm_op_kinds[n->kind];
        rm_binding operands[RM_MAX_BINDINGS], bindings[RM_MAX_BINDINGS];
        for (uint32_t k = 0; k < op->binding_count; k++) operands[k] = binding_of(s, n->args[k]);
        repmlp_status st = REPMLP_OK;
        if (op->bindings)
            st = op->bindings(ctx, &s->dispatches[i], n->label, operands, bindings);
        else
            memcpy(bindings, operands, op->binding_count * sizeof *operands);
        if (st == REPMLP_OK) st = rm_dispatch_bind(ctx, s->pool, &s->dispatches[i], bindings);
        if (st != REPMLP_OK) return rm_fail_prefix(st, "%s: op %s", s->model->path, n->label);
    }
    /* Recorded once and submitted every run, so not ONE_TIME_SUBMIT. */
    r = ctx->vk.vkResetCommandPool(ctx->device, s->command_pool, 0);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkResetCommandPool");
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    r = ctx->vk.vkBeginCommandBuffer(s->command_buffer, &begin);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkBeginCommandBuffer");
    VkCommandBuffer cmd = s->command_buffer;
    bool copy_in = s->stage_in.buffer && s->input_binding.buffer == s->input.buffer;
    bool copy_out = s->stage_out.buffer && s->output_binding.buffer == s->output.buffer;
    bool copy_topk = s->topk && s->stage_topk.buffer;
    if (copy_in) {
        VkBufferCopy region = {.size = s->input.size};
        ctx->vk.vkCmdCopyBuffer(cmd, s->stage_in.buffer, s->input.buffer, 1, &region);
        VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
        ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0, NULL, 0,
                                     NULL);
    }
    rm_session_record_range(s, cmd, 0, s->graph.node_count);
    rm_barrier_to_host(ctx, cmd);
    if (copy_topk) {
        VkBufferCopy region = {.size = s->topk_buf.size};
        ctx->vk.vkCmdCopyBuffer(cmd, s->topk_buf.buffer, s->stage_topk.buffer, 1, &region);
    }
    if (copy_out) {
        VkBufferCopy region = {.size = s->output.size};
        ctx->vk.vkCmdCopyBuffer(cmd, s->output.buffer, s->stage_out.buffer, 1, &region);
    }
    if (copy_topk || copy_out) {
        VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
        ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, NULL, 0, NULL);
    }
    r = ctx->vk.vkEndCommandBuffer(s->command_buffer);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkEndCommandBuffer");
    s->stale = false;
    return REPMLP_OK;
}

repmlp_status rm_session_ready(repmlp_session *s) {
    return s->stale ? rm_session_record(s) : REPMLP_OK;
}

repmlp_status repmlp_session_create(repmlp_model *model, uint32_t batch, repmlp_session **out) {
    if (!model || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_create: NULL argument");
    *out = NULL;
    if (batch == 0)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_create: batch must be >= 1");
    return rm_session_create(model, batch, REPMLP_PRECISION_FP32, out);
}

repmlp_status rm_session_create(repmlp_model *model, uint32_t batch, repmlp_precision precision,
                                repmlp_session **out) {
    *out = NULL;
    repmlp_status st = rm_check_alive(model->ctx);
    if (st != REPMLP_OK) return st;
    repmlp_session *s = rm_calloc(1, sizeof *s);
    if (!s) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    s->model = model;
    s->ctx = model->ctx;
    s->batch = batch;
    /* A compile-only context plans and builds the pipelines: no buffer, pool or command. */
    bool runs = !(s->ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY);
    s->precision = precision;
    st = plan(s);
    if (st == REPMLP_OK) st = check_fits(s, runs);
    if (st == REPMLP_OK && runs) st = create_buffers(s);
    if (st == REPMLP_OK) st = create_dispatches(s, runs);
    if (st == REPMLP_OK && runs) st = create_commands(s);
    if (st == REPMLP_OK && runs) st = rm_session_record(s);
    if (st != REPMLP_OK) {
        repmlp_session_destroy(s);
        return st;
    }
    *out = s;
    return REPMLP_OK;
}

void repmlp_session_destroy(repmlp_session *s) {
    if (!s) return;
    repmlp_context *ctx = s->ctx;
    if (s->fence) {
        /* Never free what the device may still be using. */
        if (s->pending) ctx->vk.vkWaitForFences(ctx->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
        ctx->vk.vkDestroyFence(ctx->device, s->fence, ctx->vk_allocator);
    }
    if (s->command_pool)
        ctx->vk.vkDestroyCommandPool(ctx->device, s->command_pool, ctx->vk_allocator);
    for (int i = 0; s->dispatches && i < s->graph.node_count; i++)
        rm_dispatch_unbind(ctx, &s->dispatches[i]);
    rm_dispatch_unbind(ctx, &s->input_copy);
    rm_dispatch_unbind(ctx, &s->topk_dispatch);
    rm_dispatch_unbind(ctx, &s->image_dispatch);
    rm_descriptor_pool_destroy(ctx, s->pool);
    rm_session_free_generations(s); /* the application's recordings have completed */
    rm_free(s->dispatches);
    rm_buffer_destroy(ctx, &s->arena);
    rm_buffer_destroy(ctx, &s->input);
    rm_buffer_destroy(ctx, &s->output);
    rm_buffer_destroy(ctx, &s->dummy);
    rm_buffer_destroy(ctx, &s->stage_in);
    rm_buffer_destroy(ctx, &s->stage_out);
    rm_buffer_destroy(ctx, &s->topk_buf);
    rm_buffer_destroy(ctx, &s->stage_topk);
    rm_graph_free(&s->graph);
    rm_free(s->tune);
    rm_free(s);
}

repmlp_status repmlp_session_memory_needed(repmlp_model *model, uint32_t batch, uint64_t *bytes) {
    if (!model || !bytes || batch == 0)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_memory_needed: NULL argument or batch 0");
    repmlp_session s = {.model = model, .ctx = model->ctx, .batch = batch};
    repmlp_status st = plan(&s);
    if (st == REPMLP_OK) *bytes = session_bytes(&s); /* what repmlp_session_create allocates */
    rm_graph_free(&s.graph);
    return st;
}

uint32_t repmlp_session_batch(const repmlp_session *s) {
    return s ? s->batch : 0;
}

uint64_t repmlp_session_activation_bytes(const repmlp_session *s) {
    return s ? s->arena_bytes : 0;
}

/* The session's buffers may be touched: no submitted run is still using them. */
static repmlp_status check_idle(repmlp_session *s, const char *what) {
    repmlp_status st = rm_check_runs(s->ctx, what);
    if (st != REPMLP_OK) return st;
    st = rm_session_settle(s);
    if (st == REPMLP_NOT_READY)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "session %s: a submitted run has not finished (repmlp_session_wait)", what);
    return st;
}

static repmlp_status check_count(repmlp_session *s, const void *ptr, size_t count,
                                 uint64_t expected, const char *what) {
    if (!s || !ptr)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "session %s: NULL argument", what);
    if (count != expected)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "session %s: %zu floats given, the model at batch %u takes %llu", what,
                       count, s->batch, (unsigned long long)expected);
    return check_idle(s, what);
}

repmlp_status repmlp_session_write_input(repmlp_session *s, const float *input, size_t count) {
    repmlp_status st = check_count(s, input, count, s ? s->input_count : 0, "input");
    if (st != REPMLP_OK) return st;
    /* Through the staging copy that execute() transfers, when the input is not mapped. */
    return rm_buffer_upload(s->ctx, s->stage_in.buffer ? &s->stage_in : &s->input, 0, input,
                            count * sizeof(float));
}

repmlp_status repmlp_session_read_output(repmlp_session *s, float *output, size_t count) {
    repmlp_status st = check_count(s, output, count, s ? s->output_count : 0, "output");
    if (st != REPMLP_OK) return st;
    return rm_buffer_download(s->ctx, s->stage_out.buffer ? &s->stage_out : &s->output, 0, output,
                              count * sizeof(float));
}

repmlp_status repmlp_session_execute(repmlp_session *s) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_execute: NULL session");
    repmlp_status st = rm_check_runs(s->ctx, "repmlp_session_execute");
    if (st != REPMLP_OK) return st;
    if (s->pending) {
        /* The last run timed out: it must finish before the command buffer is reused. */
        VkResult r =
            s->ctx->vk.vkWaitForFences(s->ctx->device, 1, &s->fence, VK_TRUE, s->ctx->timeout_ns);
        if (r == VK_TIMEOUT)
            return rm_fail(REPMLP_ERROR_TIMEOUT, "the previous run is still on the device");
        if (r != VK_SUCCESS) return rm_vk_fail(s->ctx, r, "vkWaitForFences");
        s->pending = false;
    }
    st = rm_session_ready(s);
    if (st != REPMLP_OK) return st;
    st = rm_submit_wait(s->ctx, s->command_buffer, s->fence);
    if (st == REPMLP_ERROR_TIMEOUT) s->pending = true;
    return st;
}

repmlp_status repmlp_session_run(repmlp_session *s, const float *input, size_t input_count,
                                 float *output, size_t output_count) {
    repmlp_status st = repmlp_session_write_input(s, input, input_count);
    if (st == REPMLP_OK) st = check_count(s, output, output_count, s->output_count, "output");
    if (st == REPMLP_OK) st = repmlp_session_execute(s);
    if (st == REPMLP_OK) st = repmlp_session_read_output(s, output, output_count);
    return st;
}

repmlp_status repmlp_session_bind_buffers(repmlp_session *s, VkBuffer input,
                                          VkDeviceSize input_offset, VkBuffer output,
                                          VkDeviceSize output_offset) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "bind_buffers: NULL session");
    uint64_t align = s->ctx->caps.min_storage_buffer_offset_alignment;
    if ((input && input_offset % align) || (output && output_offset % align))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "bind_buffers: offsets must be multiples of %llu (the device's "
                       "minStorageBufferOffsetAlignment)",
                       (unsigned long long)align);
    repmlp_status st = check_idle(s, "bind_buffers");
    if (st == REPMLP_OK && input && s->image_bound)
        st = rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                     "bind_buffers: an image is bound as the input (unbind it first)");
    if (st == REPMLP_OK) st = rm_session_retire(s, false); /* before the bindings change */
    if (st != REPMLP_OK) return st;
    s->input_binding = input ? (rm_binding){input, input_offset, s->input_count * sizeof(float)}
                             : (rm_binding){s->input.buffer, 0, s->input.size};
    s->output_binding = output
                            ? (rm_binding){output, output_offset, s->output_count * sizeof(float)}
                            : (rm_binding){s->output.buffer, 0, s->output.size};
    return rm_session_record(s);
}

repmlp_status repmlp_session_set_topk(repmlp_session *s, uint32_t k) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "set_topk: NULL session");
    repmlp_status st = check_idle(s, "set_topk");
    repmlp_shape out;
    repmlp_model_output_shape(s->model, &out);
    if (st == REPMLP_OK && k && out.ndim != 2)
        st = rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                     "set_topk: %s is not a classifier (its output is not (N, classes))",
                     s->model->path);
    if (st == REPMLP_OK) st = rm_session_retire(s, true); /* recordings may use the buffers */
    if (st != REPMLP_OK) return st;
    repmlp_context *ctx = s->ctx;
    rm_dispatch_unbind(ctx, &s->topk_dispatch);
    rm_buffer_destroy(ctx, &s->topk_buf);
    rm_buffer_destroy(ctx, &s->stage_topk);
    s->topk = 0;
    if (k) {
        rm_softmax_topk_params p = {s->batch, (uint32_t)out.dims[1], k};
        st = rm_softmax_topk_prepare(ctx, &p, &s->topk_dispatch);
        uint64_t bytes = (uint64_t)s->batch * k * 2 * sizeof(uint32_t);
        if (st == REPMLP_OK) st = rm_buffer_create(ctx, bytes, RM_BUFFER_IO, &s->topk_buf);
        if (st == REPMLP_OK && !s->topk_buf.mapped)
            st = rm_buffer_create(ctx, bytes, RM_BUFFER_READBACK, &s->stage_topk);
        if (st == REPMLP_OK) s->topk = k;
    }
    repmlp_status rec = rm_session_record(s);
    if (st != REPMLP_OK) {
        rm_buffer_destroy(ctx, &s->topk_buf);
        rm_buffer_destroy(ctx, &s->stage_topk);
        return rm_fail_prefix(st, "set_topk");
    }
    return rec;
}

_Static_assert(sizeof(repmlp_class_score) == 2 * sizeof(uint32_t),
               "repmlp_class_score must match the shader's (class, probability) pairs");

repmlp_status repmlp_session_read_topk(repmlp_session *s, repmlp_class_score *out, size_t count) {
    if (!s || !out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "read_topk: NULL argument");
    if (!s->topk)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "read_topk: top-k is off (repmlp_session_set_topk)");
    if (count != (size_t)s->batch * s->topk)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "read_topk: %zu pairs asked, the session makes %u (batch %u x k %u)", count,
                       s->batch * s->topk, s->batch, s->topk);
    repmlp_status st = check_idle(s, "read_topk");
    if (st != REPMLP_OK) return st;
    /* The device writes (uint32 class, float32 bits) pairs: repmlp_class_score's layout. */
    return rm_buffer_download(s->ctx, s->stage_topk.buffer ? &s->stage_topk : &s->topk_buf, 0, out,
                              count * sizeof *out);
}

/* What bind_image refuses before anything changes; fills p. */
static repmlp_status check_image(repmlp_session *s, const repmlp_image_input *image,
                                 rm_preprocess_image_params *p) {
    if (s->input_binding.buffer != s->input.buffer)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "bind_image: an input buffer is bound (repmlp_session_bind_buffers)");
    if (s->batch != 1)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "bind_image: one picture feeds a session of batch 1, not %u", s->batch);
    if (!image->view) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "bind_image: no image view");
    if (image->layout != VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL &&
        image->layout != VK_IMAGE_LAYOUT_GENERAL)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "bind_image: the layout must be SHADER_READ_ONLY_OPTIMAL or GENERAL");
    *p = (rm_preprocess_image_params){
        .format = image->format, .width = image->width, .height = image->height};
    repmlp_status st = repmlp_model_preprocessing(s->model, &p->pre);
    return st == REPMLP_OK ? st : rm_fail_prefix(st, "bind_image");
}

repmlp_status repmlp_session_bind_image(repmlp_session *s, const repmlp_image_input *caller_image) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "bind_image: NULL session");
    repmlp_image_input image_copy, *image = NULL;
    if (caller_image) {
        image = &image_copy;
        repmlp_status st =
            rm_sized_struct_read(image, sizeof *image, caller_image,
                                 RM_SIZE_THROUGH(repmlp_image_input, height), "repmlp_image_input");
        if (st != REPMLP_OK) return st;
    }
    repmlp_status st = check_idle(s, "bind_image");
    rm_preprocess_image_params p;
    if (st == REPMLP_OK && image) st = check_image(s, image, &p);
    /* From here on the session is re-recorded whatever happens: once retired, the sets that
     * its own command buffer holds may be freed when the application's frames are done. */
    if (st == REPMLP_OK) st = rm_session_retire(s, false);
    if (st != REPMLP_OK) return st;
    s->image_bound = false;
    rm_dispatch_unbind(s->ctx, &s->image_dispatch);
    if (!image) return rm_session_record(s);
    st = rm_preprocess_image_prepare(s->ctx, &p, &s->image_dispatch);
    if (st == REPMLP_OK) {
        s->image_dispatch.image = image->view;
        s->image_dispatch.image_layout = image->layout;
        s->image_bound = true;
        st = rm_session_record(s);
    }
    if (st != REPMLP_OK) {
        s->image_bound = false;
        rm_session_record(s);
    }
    return st;
}
