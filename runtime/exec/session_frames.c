/* Frames in flight: what the application's recordings of a session use (a generation of its
 * descriptor sets, texel views and top-k buffers) outlives a re-record until the
 * application's submissions holding it have completed. */
#include "core/alloc.h"
#include "core/error.h"
#include "exec/session.h"

/* Whether one wait has signalled. Errors (a lost device) count as not yet: never free early. */
static bool wait_done(const repmlp_context *ctx, const rm_wait *w) {
    if (w->semaphore) {
        PFN_vkGetSemaphoreCounterValue get = ctx->vk.vkGetSemaphoreCounterValueKHR
                                                 ? ctx->vk.vkGetSemaphoreCounterValueKHR
                                                 : ctx->vk.vkGetSemaphoreCounterValue;
        uint64_t value = 0;
        if (!get || get(ctx->device, w->semaphore, &value) != VK_SUCCESS || value < w->value)
            return false;
    }
    return !w->fence || ctx->vk.vkGetFenceStatus(ctx->device, w->fence) == VK_SUCCESS;
}

/* Drops the waits that have signalled; true when nothing holds the generation any more. */
static bool holders_done(const repmlp_context *ctx, rm_holders *h) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < h->count; i++)
        if (!wait_done(ctx, &h->waits[i])) h->waits[kept++] = h->waits[i];
    h->count = kept;
    return kept == 0 && !h->untracked;
}

static void destroy_views(repmlp_context *ctx, VkBufferView *views, uint32_t count) {
    for (uint32_t i = 0; i < count; i++)
        ctx->vk.vkDestroyBufferView(ctx->device, views[i], ctx->vk_allocator);
}

/* Keeps an emptied pool for the next generation, or destroys it when enough are kept. */
static void give_back_pool(repmlp_session *s, VkDescriptorPool pool) {
    repmlp_context *ctx = s->ctx;
    if (s->spare_pool_count < RM_SPARE_POOLS &&
        ctx->vk.vkResetDescriptorPool(ctx->device, pool, 0) == VK_SUCCESS)
        s->spare_pools[s->spare_pool_count++] = pool;
    else
        rm_descriptor_pool_destroy(ctx, pool);
}

static void free_generation(repmlp_session *s, rm_generation *g, bool keep_pool) {
    repmlp_context *ctx = s->ctx;
    destroy_views(ctx, g->views, g->view_count);
    rm_buffer_destroy(ctx, &g->topk_buf);
    rm_buffer_destroy(ctx, &g->stage_topk);
    if (g->pool && keep_pool)
        give_back_pool(s, g->pool);
    else
        rm_descriptor_pool_destroy(ctx, g->pool);
    rm_free(g->views);
    rm_free(g->holders.waits);
    rm_free(g);
}

void rm_session_collect(repmlp_session *s) {
    for (rm_generation **at = &s->retired; *at;) {
        rm_generation *g = *at;
        if (!holders_done(s->ctx, &g->holders)) {
            at = &g->next;
            continue;
        }
        *at = g->next;
        free_generation(s, g, true);
    }
}

/* Moves the texel views of d into views at *n (only counts them when views is NULL). */
static void take_dispatch_views(rm_dispatch *d, VkBufferView *views, uint32_t *n) {
    for (int k = 0; k < RM_MAX_BINDINGS; k++) {
        if (!d->views[k]) continue;
        if (views) {
            views[*n] = d->views[k];
            d->views[k] = VK_NULL_HANDLE;
        }
        (*n)++;
    }
}

/* Every texel view of the session's dispatches, moved into views (or counted). */
static uint32_t take_views(repmlp_session *s, VkBufferView *views) {
    uint32_t n = 0;
    for (int i = 0; s->dispatches && i < s->graph.node_count; i++)
        take_dispatch_views(&s->dispatches[i], views, &n);
    take_dispatch_views(&s->input_copy, views, &n);
    take_dispatch_views(&s->image_dispatch, views, &n);
    take_dispatch_views(&s->topk_dispatch, views, &n);
    return n;
}

static repmlp_status add_wait(rm_holders *h, rm_wait w);

/* Adds every holder of `from` to `into`. */
static repmlp_status merge_holders(rm_holders *into, const rm_holders *from) {
    into->untracked |= from->untracked;
    for (uint32_t i = 0; i < from->count; i++) {
        repmlp_status st = add_wait(into, from->waits[i]);
        if (st != REPMLP_OK) return st;
    }
    return REPMLP_OK;
}

repmlp_status rm_session_retire(repmlp_session *s, bool topk) {
    repmlp_context *ctx = s->ctx;
    rm_session_collect(s);
    bool held = !holders_done(ctx, &s->holders);
    /* The top-k buffers outlive generations: every recording since they were made, current or
     * retired, may write them, so they go with all of those generations' holders. */
    bool buffers = topk && s->topk_buf.buffer && (held || s->retired);
    if (!held && !buffers) return REPMLP_OK; /* only the session's own runs used them */
    /* Everything that can fail comes first, so a failure leaves the generation current. */
    const char *what = "retiring what the application's recordings use";
    rm_generation *g = rm_calloc(1, sizeof *g);
    if (!g) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", what);
    repmlp_status st = REPMLP_OK;
    for (rm_generation *r = s->retired; buffers && r && st == REPMLP_OK; r = r->next)
        st = merge_holders(&g->holders, &r->holders);
    if (st == REPMLP_OK) st = merge_holders(&g->holders, &s->holders);
    uint32_t view_count = held ? take_views(s, NULL) : 0;
    VkBufferView *views = view_count ? rm_calloc(view_count, sizeof *views) : NULL;
    if (st == REPMLP_OK && view_count && !views)
        st = rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    VkDescriptorPool fresh = VK_NULL_HANDLE;
    if (st == REPMLP_OK && held) {
        if (s->spare_pool_count)
            fresh = s->spare_pools[--s->spare_pool_count];
        else
            st = rm_descriptor_pool_create(ctx, s->pool_sets, &fresh);
    }
    if (st != REPMLP_OK) {
        rm_free(views);
        rm_free(g->holders.waits);
        rm_free(g);
        return rm_fail_prefix(st, "%s", what);
    }
    if (held) {
        g->pool = s->pool;
        g->views = views;
        g->view_count = take_views(s, views);
        s->pool = fresh;
        s->stale = true; /* until rm_session_record binds the dispatches to the fresh pool */
        s->holders.untracked = false; /* the new generation is held by nothing yet */
        s->holders.count = 0;
    }
    if (buffers) {
        g->topk_buf = s->topk_buf;
        g->stage_topk = s->stage_topk;
        s->topk_buf = (rm_buffer){0};
        s->stage_topk = (rm_buffer){0};
    }
    g->next = s->retired;
    s->retired = g;
    return REPMLP_OK;
}

/* Adds w to h, or raises the value of the same semaphore / keeps the same fence once. */
static repmlp_status add_wait(rm_holders *h, rm_wait w) {
    for (uint32_t i = 0; i < h->count; i++) {
        rm_wait *o = &h->waits[i];
        if (o->semaphore == w.semaphore && o->fence == w.fence) {
            if (w.value > o->value) o->value = w.value;
            return REPMLP_OK;
        }
    }
    if (h->count == h->capacity) {
        /* Grows only for a semaphore or fence never seen before, not per frame. */
        if (h->capacity > UINT32_MAX / sizeof *h->waits / 2)
            return rm_fail(REPMLP_ERROR_TOO_LARGE, "too many semaphores and fences");
        uint32_t capacity = h->capacity ? 2 * h->capacity : 4;
        rm_wait *grown = rm_realloc(h->waits, capacity * sizeof *grown);
        if (!grown) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        h->waits = grown;
        h->capacity = capacity;
    }
    h->waits[h->count++] = w;
    return REPMLP_OK;
}

repmlp_status rm_session_hold(repmlp_session *s, const repmlp_completion *done) {
    rm_session_collect(s);
    if (!done) {
        s->holders.untracked = true;
        return REPMLP_OK;
    }
    repmlp_context *ctx = s->ctx;
    rm_wait w = {done->semaphore, done->semaphore ? done->value : 0, done->fence};
    if (!w.semaphore && !w.fence)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "the completion names neither a semaphore nor a fence");
    if (w.semaphore && !ctx->caps.timeline_semaphores)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "a semaphore completion needs timeline semaphores, which "
                       "the device does not have enabled");
    /* A completion that has signalled already cannot tell when this submission completes. */
    if (w.semaphore && wait_done(ctx, &(rm_wait){w.semaphore, w.value, VK_NULL_HANDLE}))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "the semaphore has reached value %llu already", (unsigned long long)w.value);
    if (w.fence && ctx->vk.vkGetFenceStatus(ctx->device, w.fence) != VK_NOT_READY)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "the fence is signalled (reset it before recording)");
    return add_wait(&s->holders, w);
}

repmlp_status repmlp_session_release_recordings(repmlp_session *s) {
    if (!s)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_session_release_recordings: NULL session");
    s->holders.untracked = false;
    s->holders.count = 0;
    for (rm_generation *g = s->retired; g; g = g->next) {
        g->holders.untracked = false;
        g->holders.count = 0;
    }
    rm_session_collect(s);
    return REPMLP_OK;
}

void rm_session_free_generations(repmlp_session *s) {
    while (s->retired) {
        rm_generation *g = s->retired;
        s->retired = g->next;
        free_generation(s, g, false);
    }
    for (uint32_t i = 0; i < s->spare_pool_count; i++)
        rm_descriptor_pool_destroy(s->ctx, s->spare_pools[i]);
    s->spare_pool_count = 0;
    rm_free(s->holders.waits);
    s->holders = (rm_holders){0};
}
