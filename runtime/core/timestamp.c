/* Device timestamps (core/timestamp.h). */
#include "core/timestamp.h"

uint64_t rm_timestamp_ticks(uint64_t start, uint64_t end, uint32_t valid_bits) {
    uint64_t mask = valid_bits >= 64 ? ~0ull : (1ull << valid_bits) - 1;
    return (end - start) & mask; /* unsigned wraparound, then the valid bits */
}

double rm_timestamp_ms(const repmlp_context *ctx, uint64_t start, uint64_t end) {
    return (double)rm_timestamp_ticks(start, end, ctx->caps.timestamp_valid_bits) *
           ctx->caps.timestamp_period_ns / 1e6;
}

/* vkCmdWriteTimestamp waits for the earlier commands only as far as the stage it names:
 * BOTTOM_OF_PIPE is every earlier command complete, for the start stamp as for the end. */
void rm_timestamp_start(repmlp_context *ctx, VkCommandBuffer cmd, VkQueryPool pool,
                        uint32_t query) {
    ctx->vk.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, query);
}

void rm_timestamp_end(repmlp_context *ctx, VkCommandBuffer cmd, VkQueryPool pool, uint32_t query) {
    ctx->vk.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, query);
}
