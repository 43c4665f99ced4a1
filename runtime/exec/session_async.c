/* Submitting a session's run without waiting, with the application's semaphores. */
#include "core/error.h"
#include "core/sized_struct.h"
#include "exec/session.h"
#include "repmlp/vulkan.h"

repmlp_status rm_session_settle(repmlp_session *s) {
    if (!s->pending) return REPMLP_OK;
    VkResult r = s->ctx->vk.vkGetFenceStatus(s->ctx->device, s->fence);
    if (r == VK_NOT_READY) return REPMLP_NOT_READY;
    if (r != VK_SUCCESS) return rm_vk_fail(s->ctx, r, "vkGetFenceStatus");
    s->pending = false;
    return REPMLP_OK;
}

repmlp_status repmlp_session_poll(repmlp_session *s) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_poll: NULL session");
    repmlp_status st = rm_check_alive(s->ctx);
    if (st != REPMLP_OK) return st;
    if (s->retired) rm_session_collect(s); /* what the application's finished frames held */
    return rm_session_settle(s);
}

repmlp_status repmlp_session_wait(repmlp_session *s, uint64_t timeout_ns) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_wait: NULL session");
    repmlp_status st = rm_check_alive(s->ctx);
    if (st != REPMLP_OK || !s->pending) return st;
    VkResult r = s->ctx->vk.vkWaitForFences(s->ctx->device, 1, &s->fence, VK_TRUE, timeout_ns);
    if (r == VK_TIMEOUT)
        return rm_fail(REPMLP_ERROR_TIMEOUT, "the submitted run did not finish within %.3f s",
                       (double)timeout_ns / 1e9);
    if (r != VK_SUCCESS) return rm_vk_fail(s->ctx, r, "vkWaitForFences");
    s->pending = false;
    return REPMLP_OK;
}

/* The semaphores of `info` as a VkSubmitInfo (stages and timeline values in `stages` and
 * `timeline`, which must outlive the submit). */
static repmlp_status fill_submit(const repmlp_session *s, const repmlp_submit_info *info,
                                 VkPipelineStageFlags *stages,
                                 VkTimelineSemaphoreSubmitInfo *timeline, VkSubmitInfo *submit) {
    *submit = (VkSubmitInfo){.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                             .commandBufferCount = 1,
                             .pCommandBuffers = &s->command_buffer};
    if (!info) return REPMLP_OK;
    if ((info->wait_count && !info->wait_semaphores) ||
        (info->signal_count && !info->signal_semaphores))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_submit: a semaphore count without its array");
    bool values = info->wait_values || info->signal_values;
    if (values && !s->ctx->caps.timeline_semaphores)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "repmlp_session_submit: timeline values given, but the device has no "
                       "timeline semaphores enabled");
    for (uint32_t i = 0; i < info->wait_count; i++)
        stages[i] = info->wait_stages ? info->wait_stages[i] : VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    submit->waitSemaphoreCount = info->wait_count;
    submit->pWaitSemaphores = info->wait_semaphores;
    submit->pWaitDstStageMask = stages;
    submit->signalSemaphoreCount = info->signal_count;
    submit->pSignalSemaphores = info->signal_semaphores;
    if (values) {
        *timeline = (VkTimelineSemaphoreSubmitInfo){
            .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
            .waitSemaphoreValueCount = info->wait_values ? info->wait_count : 0,
            .pWaitSemaphoreValues = info->wait_values,
            .signalSemaphoreValueCount = info->signal_values ? info->signal_count : 0,
            .pSignalSemaphoreValues = info->signal_values};
        submit->pNext = timeline;
    }
    return REPMLP_OK;
}

repmlp_status repmlp_session_submit(repmlp_session *s, const repmlp_submit_info *caller_info) {
    if (!s) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_submit: NULL session");
    repmlp_submit_info info_copy, *info = NULL;
    repmlp_status st = REPMLP_OK;
    if (caller_info) {
        info = &info_copy;
        st = rm_sized_struct_read(info, sizeof *info, caller_info,
                                  RM_SIZE_THROUGH(repmlp_submit_info, signal_values),
                                  "repmlp_submit_info");
        if (st != REPMLP_OK) return st;
    }
    st = rm_check_alive(s->ctx);
    if (st == REPMLP_OK) st = rm_check_runs(s->ctx, "repmlp_session_submit");
    if (st != REPMLP_OK) return st;
    st = rm_session_settle(s);
    if (st == REPMLP_NOT_READY)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_submit: the session's last run has not finished");
    if (st != REPMLP_OK) return st;
    /* On the stack: a submission allocates nothing. */
    VkPipelineStageFlags stages[REPMLP_SUBMIT_MAX_WAITS];
    if (info && info->wait_count > REPMLP_SUBMIT_MAX_WAITS)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_submit: %u wait semaphores, at most %d", info->wait_count,
                       REPMLP_SUBMIT_MAX_WAITS);
    VkTimelineSemaphoreSubmitInfo timeline;
    VkSubmitInfo submit;
    st = rm_session_ready(s);
    if (st == REPMLP_OK) st = fill_submit(s, info, stages, &timeline, &submit);
    if (st == REPMLP_OK) st = rm_queue_submit(s->ctx, &submit, s->fence);
    if (st == REPMLP_OK) s->pending = true;
    return st;
}
