/* The operand path of RM_GEMM_AUTO, chosen by measurement on the context's own device (it
 * replaced a test of the device's name): the first time it is needed, a small GEMM is timed
 * with the storage-buffer and the uniform-texel-buffer kernel and the faster one is kept
 * (texel by a clear margin, see TEXEL_MARGIN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buffer.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/platform.h"
#include "ops/gemm_core.h"

/* The probe: a GEMM big enough that the kernel, not the submission, dominates on CPU drivers
 * (lavapipe ~1 ms), small enough to cost little at the first model load. */
#define PROBE_M 64
#define PROBE_K 256
#define PROBE_N 256
#define PROBE_RUNS 3 /* timed, after one warm-up */
/* Texel views win only by a clear margin: near a tie the storage kernel is kept (no buffer
 * views, no input copy), so the choice does not flip with the noise of a shared machine.
 * Measured (probe medians): lavapipe texel 1.7-1.8x faster; SwiftShader a tie (0.9-1.1x). */
#define TEXEL_MARGIN 1.25

typedef struct probe {
    rm_buffer x, w, y;
    VkDescriptorPool pool;
} probe;

static void probe_free(repmlp_context *ctx, probe *p) {
    rm_buffer_destroy(ctx, &p->x);
    rm_buffer_destroy(ctx, &p->w);
    rm_buffer_destroy(ctx, &p->y);
    rm_descriptor_pool_destroy(ctx, p->pool);
}

static repmlp_status probe_create(repmlp_context *ctx, probe *p) {
    uint64_t nx = (uint64_t)PROBE_M * PROBE_K, ny = (uint64_t)PROBE_M * PROBE_N;
    uint64_t nw = rm_gemm_packed_count(1, PROBE_N, PROBE_K, 0, false);
    /* Small finite values: the kernels' speed must not depend on NaNs or denormals. */
    float *host = rm_malloc(nw * sizeof *host);
    if (!host) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (uint64_t i = 0; i < nw; i++) host[i] = (float)(i % 7) * 0.125f;
    repmlp_status st = rm_buffer_create(ctx, nx * 4, RM_BUFFER_ACTIVATIONS, &p->x);
    if (st == REPMLP_OK) st = rm_buffer_create(ctx, nw * 4, RM_BUFFER_ACTIVATIONS, &p->w);
    if (st == REPMLP_OK) st = rm_buffer_create(ctx, ny * 4, RM_BUFFER_ACTIVATIONS, &p->y);
    if (st == REPMLP_OK) st = rm_buffer_upload(ctx, &p->x, 0, host, nx * 4);
    if (st == REPMLP_OK) st = rm_buffer_upload(ctx, &p->w, 0, host, nw * 4);
    if (st == REPMLP_OK) st = rm_descriptor_pool_create(ctx, 2, &p->pool);
    rm_free(host);
    return st;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median host-timed milliseconds of PROBE_RUNS one-off submissions of the probe GEMM. */
static repmlp_status time_variant(repmlp_context *ctx, probe *p, rm_gemm_variant variant,
                                  double *median_ms) {
    rm_gemm_params g = rm_gemm_row_major(PROBE_M, PROBE_K, PROBE_N, 1);
    g.has_bias = true;
    g.variant = variant;
    g.tile_m = 8;
    rm_dispatch d;
    repmlp_status st = rm_gemm_prepare(ctx, &g, &d);
    if (st != REPMLP_OK) return st;
    /* Operands: X, the packed W (bias inside), Y; V, S and R unused (any buffer). */
    rm_binding x = {p->x.buffer, 0, p->x.size},
               ops[RM_GEMM_OPERANDS] = {
                   x, {p->w.buffer, 0, p->w.size}, x, {p->y.buffer, 0, p->y.size}, x, x, x};
    rm_binding b[RM_MAX_BINDINGS];
    st = rm_gemm_core_bindings(ctx, &d, "operand probe", ops, b);
    if (st == REPMLP_OK) st = rm_dispatch_bind(ctx, p->pool, &d, b);
    double ms[PROBE_RUNS + 1];
    for (int r = 0; st == REPMLP_OK && r <= PROBE_RUNS; r++) {
        VkCommandBuffer cmd;
        st = rm_oneoff_begin(ctx, &cmd);
        if (st != REPMLP_OK) break;
        rm_dispatch_record(ctx, cmd, &d, NULL);
        double t0 = rm_now_ms();
        st = rm_oneoff_submit(ctx, cmd);
        ms[r] = rm_now_ms() - t0;
    }
    rm_dispatch_unbind(ctx, &d);
    if (st != REPMLP_OK) return st;
    qsort(ms + 1, PROBE_RUNS, sizeof *ms, cmp_double); /* ms[0] is the warm-up */
    *median_ms = ms[1 + PROBE_RUNS / 2];
    return REPMLP_OK;
}

/* Whether a candidate kernel fits ctx->caps; why says what does not. */
static bool candidate_fits(const repmlp_context *ctx, rm_shader_id shader, bool texel, char *why,
                           size_t size) {
    if (!rm_limits_shader_fits(ctx, rm_shader(shader), why, size)) return false;
    uint64_t reads = (uint64_t)PROBE_M * PROBE_K; /* X in floats; W in vec4s is no more */
    uint64_t w_reads = rm_gemm_packed_count(1, PROBE_N, PROBE_K, 0, false) / 4;
    if (w_reads > reads) reads = w_reads;
    if (texel && reads > ctx->caps.max_texel_buffer_elements) {
        snprintf(why, size, "it reads %llu texels; the device allows %llu (profile %s)",
                 (unsigned long long)reads, (unsigned long long)ctx->caps.max_texel_buffer_elements,
                 ctx->caps.profile);
        return false;
    }
    return true;
}

static repmlp_status measure(repmlp_context *ctx, rm_operand_path *out) {
    char why_storage[512], why_texel[512];
    bool storage_ok = candidate_fits(ctx, RM_SHADER_GEMM_M8, false, why_storage, 512);
    bool texel_ok = candidate_fits(ctx, RM_SHADER_GEMM_TEXEL_M8, true, why_texel, 512);
    if (!storage_ok || !texel_ok) {
        *out = texel_ok ? RM_OPERAND_TEXEL : RM_OPERAND_STORAGE;
        if (storage_ok || texel_ok)
            rm_log(ctx, REPMLP_LOG_INFO,
                   "operand path: %s, not measured: the %s kernel does not "
                   "fit (%s)",
                   texel_ok ? "texel" : "storage", texel_ok ? "storage" : "texel",
                   texel_ok ? why_storage : why_texel);
        else
            rm_log(ctx, REPMLP_LOG_INFO, "operand path: neither kernel fits (%s; %s)", why_storage,
                   why_texel);
        return REPMLP_OK;
    }
    if (ctx->flags & REPMLP_CONTEXT_COMPILE_ONLY) {
        /* Nothing runs: the storage kernel, which needs no views (REPMLP_OPERAND_PATH=texel
         * compiles the other). */
        *out = RM_OPERAND_STORAGE;
        rm_log(ctx, REPMLP_LOG_INFO, "operand path: storage, not measured (compile-only)");
        return REPMLP_OK;
    }
    probe p;
    memset(&p, 0, sizeof p);
    double storage_ms = 0, texel_ms = 0, t0 = rm_now_ms();
    repmlp_status st = probe_create(ctx, &p);
    if (st == REPMLP_OK) st = time_variant(ctx, &p, RM_GEMM_STORAGE, &storage_ms);
    if (st == REPMLP_OK) st = time_variant(ctx, &p, RM_GEMM_TEXEL, &texel_ms);
    probe_free(ctx, &p);
    if (st != REPMLP_OK) return rm_fail_prefix(st, "measuring the GEMM operand path");
    *out = texel_ms * TEXEL_MARGIN < storage_ms ? RM_OPERAND_TEXEL : RM_OPERAND_STORAGE;
    rm_log(ctx, REPMLP_LOG_INFO,
           "operand path: %s (GEMM M=%d K=%d N=%d, median of %d: storage buffers %.3f ms, "
           "texel buffers %.3f ms; texel needs %.2fx; measured in %.0f ms)",
           *out == RM_OPERAND_TEXEL ? "texel" : "storage", PROBE_M, PROBE_K, PROBE_N, PROBE_RUNS,
           storage_ms, texel_ms, TEXEL_MARGIN, rm_now_ms() - t0);
    return REPMLP_OK;
}

repmlp_status rm_operand_path_get(repmlp_context *ctx, rm_operand_path *out) {
    repmlp_status st = REPMLP_OK;
    rm_mutex_lock(&ctx->operand_lock);
    if (ctx->operand_path == RM_OPERAND_UNDECIDED) {
        char why[512];
        bool forced_texel = ctx->operand_path_forced == RM_OPERAND_TEXEL;
        if (ctx->operand_path_forced &&
            !candidate_fits(ctx, forced_texel ? RM_SHADER_GEMM_TEXEL_M8 : RM_SHADER_GEMM_M8,
                            forced_texel, why, sizeof why)) {
            /* Forcing a kernel the device cannot bind would only make every GEMM fail: the
             * one that fits is kept (or measured out of), as without the variable. */
            rm_log(ctx, REPMLP_LOG_INFO,
                   "operand path: REPMLP_OPERAND_PATH=%s ignored: the %s kernel does not fit (%s)",
                   forced_texel ? "texel" : "storage", forced_texel ? "texel" : "storage", why);
            st = measure(ctx, &ctx->operand_path);
        } else if (ctx->operand_path_forced) {
            ctx->operand_path = ctx->operand_path_forced;
            rm_log(ctx, REPMLP_LOG_INFO, "operand path: %s (REPMLP_OPERAND_PATH)",
                   ctx->operand_path == RM_OPERAND_TEXEL ? "texel" : "storage");
        } else {
            st = measure(ctx, &ctx->operand_path);
        }
    }
    *out = ctx->operand_path;
    rm_mutex_unlock(&ctx->operand_lock);
    return st;
}
