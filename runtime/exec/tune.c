/* Kernel tuning (exec/tune.h): every row of rm_gemm_kernel_variants that matches an op's
 * kernel and weight type and fits the device is a candidate, with no per-algorithm code here.
 * Each candidate runs once on random data and is checked against the built-in choice, then
 * timed; the fastest is kept per shape in the context, which saves and loads the winners. A
 * session measures its shapes least work first, and forms that kept losing on the earlier ones
 * are not tried on the later ones (rm_tune_evidence). */
#include "exec/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buffer.h"
#include "core/error.h"
#include "core/fault.h"
#include "core/limits.h"
#include "core/platform.h"
#include "core/timestamp.h"
#include "io/device_file.h"
#include "ops/gemm_core.h"
#include "io/file_map.h"

/* Timed runs per candidate, after the checked one (which warms up): at least TUNE_RUNS, more for
 * short kernels, up to TUNE_SPAN_MS of device time or TUNE_MAX_RUNS: the median of three
 * 50-microsecond runs on lavapipe varied by 2x between processes, enough to crown a kernel by
 * noise. */
#define TUNE_RUNS 3
#define TUNE_MAX_RUNS 15
#define TUNE_SPAN_MS 2.0
#define TUNE_CONFIRM_PAIRS 7 /* 2 * 7 runs fit the TUNE_MAX_RUNS pairs of timestamps */
#define TUNE_DEFAULT_BUDGET_MS 30000
/* A candidate whose first timed run took this many times the best median so far is not timed
 * further: on CPU drivers a wrong tile costs 2-10x, and timing it would spend the budget. */
#define TUNE_SLOW 1.5
/* Pruning from the shapes measured earlier in a session (rm_tune_evidence): a kernel form that
 * took TUNE_LOSS times a shape's best time or more on TUNE_PRUNE_LOSSES shapes, and never came
 * within TUNE_CLOSE of it, is not tried on later shapes. Shapes are measured least work first,
 * so the cheap ones teach it: on lavapipe most forms lose 2-5x everywhere (its shared memory
 * and storage loads are slow), and trying each on every shape cost most of a RepMLPNet-T224
 * session's tuning time. */
#define TUNE_LOSS 1.5
#define TUNE_CLOSE 1.25
#define TUNE_PRUNE_LOSSES 3
/* A candidate replaces the built-in choice only when this much faster: near a tie the
 * built-in kernel stays, so results do not flip with the noise of a shared machine. */
#define TUNE_MARGIN 0.95
/* Allowed |candidate - built-in| relative to the largest |built-in| of each tensor: summation
 * order may differ between algorithms (fp32), and fp16 weights add their own rounding. */
#define TUNE_TOL_F32 1e-4
#define TUNE_TOL_F16 2e-3
#define TUNE_MAGIC "RMVKTU01"

typedef struct rm_tune_shape {
    rm_tune_key key;
    uint32_t node; /* the first op of this shape */
    bool visited;  /* measured, or passed over once the budget was spent */
    const rm_gemm_kernel_variant *builtin, *winner;
    uint32_t source; /* repmlp_tuning_source */
    uint32_t count;
    repmlp_tuning_candidate cand[REPMLP_TUNING_MAX_CANDIDATES];
} rm_tune_shape;

typedef struct rm_tune_node {
    uint32_t node, shape;
} rm_tune_node;

struct rm_tune_report {
    bool timestamps;
    uint32_t node_count, shape_count;
    rm_tune_shape *shapes;
    rm_tune_node *nodes;
};

#ifdef REPMLP_FAULT_INJECTION
static const char *corrupt_shader, *flattered_shader;
void rm_tune_fault_corrupt(const char *shader) {
    corrupt_shader = shader;
}
void rm_tune_fault_flatter(const char *shader) {
    flattered_shader = shader;
}
/* A flattered kernel really does this many times its work, and its solo timings are scaled
 * to a thousandth of one run's: it wins any first round alone and is far slower in the
 * confirmation, whatever the load (SwiftShader under load times a tiny kernel at 0.3 or 3.7 ms
 * by chance; real kernels time within that noise of each other). */
#define TUNE_FLATTER_WORK 32
static bool flattered(const char *shader) {
    return flattered_shader && strcmp(flattered_shader, shader) == 0;
}
#endif

/* Records one run of d (for a flattered kernel, its repeated work); prev: as for
 * rm_dispatch_record. */
static void record_run(repmlp_context *ctx, VkCommandBuffer cmd, const rm_dispatch *d,
                       const rm_dispatch *prev) {
    uint32_t reps = 1;
#ifdef REPMLP_FAULT_INJECTION
    if (flattered(rm_shader(d->pipeline->shader)->name)) reps = TUNE_FLATTER_WORK;
#endif
    for (uint32_t i = 0; i < reps; i++) {
        if (i) rm_barrier_compute(ctx, cmd);
        rm_dispatch_record(ctx, cmd, d, i ? d : prev);
    }
}

static const char *row_name(const rm_gemm_kernel_variant *row) {
    return rm_shader(row->shader)->name;
}

static const rm_gemm_kernel_variant *row_of_shader(rm_shader_id shader) {
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++)
        if (rm_gemm_kernel_variants[i].shader == shader) return &rm_gemm_kernel_variants[i];
    return NULL;
}

static const rm_gemm_kernel_variant *row_named(const char *name) {
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++)
        if (strcmp(row_name(&rm_gemm_kernel_variants[i]), name) == 0)
            return &rm_gemm_kernel_variants[i];
    return NULL;
}

static bool tunable(const rm_node *n) {
    return n->kind == RM_NODE_GEMM || n->kind == RM_NODE_CONV;
}

static bool node_w16(const rm_node *n) {
    return n->kind == RM_NODE_GEMM ? n->params.gemm.w16 : n->params.conv.w16;
}

/* Whether the row can run an op of this kernel and weight type (limits aside), in a session of
 * this precision: a kernel that multiplies in fp16 only where the session chose fp16
 * arithmetic, whatever a tuning file says. */
static bool row_matches(const rm_gemm_kernel_variant *row, const rm_tune_key *k) {
    return rm_gemm_kernel_variant_runs(row, (rm_gemm_kernel)k->kernel, k->w16 != 0) &&
           (k->f16_math || !rm_shader_f16_math(row->shader));
}

/* Whether a matching row is worth measuring for M rows, so that a session tunes in seconds
 * rather than minutes: the few-row algorithms (subgroup GEMV, split-K) only up to 8 rows, the
 * shared-memory and cooperative-matrix tiles only from 64 rows, and row tiles near M. Kernels that
 * multiply in fp16 only where the session chose fp16 arithmetic (row_matches): their error
 * (~5e-4 on data in [-1, 1), unbounded past fp16's range) is not fp32's. */
static bool worth_trying(const rm_gemm_kernel_variant *row, const rm_tune_key *k) {
    const uint32_t M = k->M;
    switch (row->algorithm) {
        case RM_GEMM_ALGORITHM_SUBGROUP_GEMV:
        case RM_GEMM_ALGORITHM_SPLIT_K:
            if (M > 8) return false;
            break;
        case RM_GEMM_ALGORITHM_SHARED_F16:
        case RM_GEMM_ALGORITHM_COOPMAT_NV:
            return M >= 64 && k->f16_math;
        case RM_GEMM_ALGORITHM_SHARED:
            return M >= 64;
        default:
            break;
    }
    /* Row tiles near M: not taller than M (the shortest tile always), and not so short that
     * each weight load feeds a sixteenth of the rows or less (the tallest tile always). The
     * shortest and tallest are those this build has for the row's form (bench/KERNELS.md). */
    bool shortest = true, tallest = true;
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->kernel != row->kernel || v->path != row->path || v->weights != row->weights ||
            v->algorithm != row->algorithm)
            continue;
        shortest = shortest && v->tile_m >= row->tile_m;
        tallest = tallest && v->tile_m <= row->tile_m;
    }
    return (row->tile_m <= M || shortest) && (16 * row->tile_m > M || tallest);
}

static repmlp_status prepare_row(repmlp_context *ctx, const rm_node *n,
                                 const rm_gemm_kernel_variant *row, rm_dispatch *out) {
    rm_node copy = *n;
    if (copy.kind == RM_NODE_GEMM)
        copy.params.gemm.force = row;
    else
        copy.params.conv.force = row;
    return rm_op_kinds[copy.kind].prepare(ctx, &copy, out);
}

static void make_key(const repmlp_session *s, const rm_node *n, const rm_dispatch *d,
                     const rm_gemm_kernel_variant *row, rm_tune_key *k) {
    const rm_pipeline *p = d->pipeline;
    memset(k, 0, sizeof *k);
    k->kernel = row->kernel;
    memcpy(&k->M, d->push, sizeof k->M); /* every GEMM-core kernel pushes M first */
    k->K = p->spec[RM_SPEC_K];
    k->N = p->spec[RM_SPEC_NO];
    k->groups = d->groups[2];
    k->w16 = node_w16(n);
    k->f16_math = s->precision == REPMLP_PRECISION_FP16_ARITHMETIC;
    /* spec[0..2] (the workgroup) follows the row tile, not the problem */
    k->spec_hash = rm_fnv1a(p->spec + 3, (p->spec_count - 3) * sizeof *p->spec);
}

/* ---- The context's store (callers hold ctx->lock) ---- */

static const rm_tune_entry *store_find(const struct rm_tune_store *t, const rm_tune_key *k) {
    for (uint32_t i = 0; t && i < t->count; i++)
        if (memcmp(&t->entries[i].key, k, sizeof *k) == 0) return &t->entries[i];
    return NULL;
}

static repmlp_status store_reserve(repmlp_context *ctx, uint32_t more) {
    struct rm_tune_store *t = ctx->tune;
    uint32_t count = t ? t->count : 0, capacity = t ? t->capacity : 0;
    if (t && count + more <= capacity) return REPMLP_OK;
    uint32_t want = capacity ? capacity : 16;
    while (want < count + more) want *= 2;
    struct rm_tune_store *grown = rm_realloc(t, sizeof *t + (size_t)want * sizeof(rm_tune_entry));
    if (!grown) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    if (!t) memset(grown, 0, sizeof *grown);
    grown->capacity = want;
    ctx->tune = grown;
    return REPMLP_OK;
}

static repmlp_status store_put(repmlp_context *ctx, const rm_tune_key *k, const char *winner) {
    rm_tune_entry *e = (rm_tune_entry *)store_find(ctx->tune, k);
    if (!e) {
        repmlp_status st = store_reserve(ctx, 1);
        if (st != REPMLP_OK) return st;
        e = &ctx->tune->entries[ctx->tune->count++];
        e->key = *k;
    }
    memset(e->winner, 0, sizeof e->winner);
    snprintf(e->winner, sizeof e->winner, "%s", winner);
    return REPMLP_OK;
}

static bool denied(repmlp_context *ctx, const rm_gemm_kernel_variant *row) {
    rm_mutex_lock(&ctx->lock);
    bool d = ctx->tune && ctx->tune->deny[row->shader];
    rm_mutex_unlock(&ctx->lock);
    return d;
}

static void deny(repmlp_context *ctx, const rm_gemm_kernel_variant *row, const char *label,
                 const char *why) {
    rm_mutex_lock(&ctx->lock);
    if (store_reserve(ctx, 0) == REPMLP_OK) ctx->tune->deny[row->shader] = true;
    rm_mutex_unlock(&ctx->lock);
    rm_log(ctx, REPMLP_LOG_WARNING, "tuning: kernel %s denied on this context (op %s): %s",
           row_name(row), label, why);
}

/* ---- Measuring one shape ---- */

/* Scratch copies of the op's activations (random data), its real weights, and what the
 * checks and timings need. */
typedef struct bench {
    rm_buffer scratch;
    uint64_t floats;
    float *init, *ref, *got;
    uint32_t regions;
    uint64_t region_off[RM_MAX_BINDINGS], region_len[RM_MAX_BINDINGS]; /* floats */
    rm_binding bind[RM_MAX_BINDINGS];
    VkDescriptorPool pool;
    VkQueryPool queries; /* VK_NULL_HANDLE: host time */
} bench;

static void bench_free(repmlp_context *ctx, bench *b) {
    rm_buffer_destroy(ctx, &b->scratch);
    rm_free(b->init);
    rm_descriptor_pool_destroy(ctx, b->pool);
    if (b->queries) ctx->vk.vkDestroyQueryPool(ctx->device, b->queries, ctx->vk_allocator);
}

static repmlp_status bench_create(repmlp_session *s, const rm_node *n, bench *b) {
    repmlp_context *ctx = s->ctx;
    uint64_t align = rm_caps_binding_alignment(&ctx->caps) / sizeof(float);
    int region_of[RM_MAX_BINDINGS];
    uint32_t bindings = rm_op_kinds[n->kind].binding_count;
    uint64_t end = 0;
    for (uint32_t k = 0; k < bindings; k++) {
        const rm_value *v = &s->graph.values[n->args[k]];
        region_of[k] = -1;
        if (v->kind == RM_VALUE_WEIGHT) {
            const rm_weight *w = &s->model->weights[v->weight];
            b->bind[k] =
                (rm_binding){s->model->weight_buffers[w->buffer].buffer, v->offset, v->count * 4};
        } else if (v->kind == RM_VALUE_NONE) {
            b->bind[k] = (rm_binding){s->dummy.buffer, 0, s->dummy.size};
        } else {
            /* The same value twice (an in-place residual) stays one region, as in the arena. */
            for (uint32_t j = 0; j < k; j++)
                if (n->args[j] == n->args[k]) region_of[k] = region_of[j];
            if (region_of[k] < 0) {
                uint32_t r = b->regions++;
                b->region_off[r] = (end + align - 1) / align * align;
                b->region_len[r] = v->count;
                end = b->region_off[r] + v->count;
                region_of[k] = (int)r;
            }
        }
    }
    b->floats = end;
    size_t bytes;
    if (!end || !rm_mul_size((size_t)end, 3 * sizeof(float), &bytes))
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%llu floats of scratch", (unsigned long long)end);
    repmlp_status st =
        rm_buffer_create(ctx, end * sizeof(float), RM_BUFFER_ACTIVATIONS, &b->scratch);
    if (st != REPMLP_OK) return st;
    for (uint32_t k = 0; k < bindings; k++)
        if (region_of[k] >= 0)
            b->bind[k] = (rm_binding){b->scratch.buffer, b->region_off[region_of[k]] * 4,
                                      b->region_len[region_of[k]] * 4};
    b->init = rm_malloc(bytes);
    if (!b->init) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    b->ref = b->init + end;
    b->got = b->ref + end;
    /* Uniform in [-1, 1) from a fixed seed: every candidate sees the same data. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint64_t i = 0; i < end; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        b->init[i] = (float)((double)(x >> 40) / (double)(1ull << 23) - 1.0);
    }
    /* One set per candidate and two for the confirmation, or one per part of a weight cut into
     * parts. */
    st =
        rm_descriptor_pool_create(ctx, (REPMLP_TUNING_MAX_CANDIDATES + 2) * RM_MAX_PARTS, &b->pool);
    if (st != REPMLP_OK || !ctx->caps.timestamps) return st;
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = 2 * TUNE_MAX_RUNS};
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreateQueryPool(ctx->device, &qi, ctx->vk_allocator, &b->queries));
    if (r != VK_SUCCESS) {
        b->queries = VK_NULL_HANDLE;
        return rm_vk_fail(ctx, r, "vkCreateQueryPool");
    }
    return REPMLP_OK;
}

/* Runs d once on the initial data and reads the scratch back into out. The run also warms the
 * kernel up (lavapipe compiles a shader at its first dispatch). */
static repmlp_status run_checked(repmlp_context *ctx, bench *b, const rm_dispatch *d, float *out) {
    repmlp_status st = rm_buffer_upload(ctx, &b->scratch, 0, b->init, b->floats * 4);
    VkCommandBuffer cmd;
    if (st == REPMLP_OK) st = rm_oneoff_begin(ctx, &cmd);
    if (st != REPMLP_OK) return st;
    rm_dispatch_record(ctx, cmd, d, NULL);
    rm_barrier_to_host(ctx, cmd);
    st = rm_oneoff_submit(ctx, cmd);
    if (st == REPMLP_OK) st = rm_buffer_download(ctx, &b->scratch, 0, out, b->floats * 4);
    return st;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run of d in its own submission; *ms: host time around the submission. */
static repmlp_status run_host(repmlp_context *ctx, const rm_dispatch *d, double *ms) {
    VkCommandBuffer cmd;
    repmlp_status st = rm_oneoff_begin(ctx, &cmd);
    if (st != REPMLP_OK) return st;
    record_run(ctx, cmd, d, NULL);
    double t0 = rm_now_ms();
    st = rm_oneoff_submit(ctx, cmd);
    *ms = rm_now_ms() - t0;
    return st;
}

/* The times of `runs` (at most TUNE_MAX_RUNS) runs, run r of ds[r % count]: device timestamps
 * in one submission, or host time around one submission each. */
static repmlp_status run_alternating(repmlp_context *ctx, bench *b, const rm_dispatch *const *ds,
                                     uint32_t count, uint32_t runs, double *t) {
    repmlp_status st = REPMLP_OK;
    VkCommandBuffer cmd;
    if (b->queries) {
        st = rm_oneoff_begin(ctx, &cmd);
        if (st != REPMLP_OK) return st;
        ctx->vk.vkCmdResetQueryPool(cmd, b->queries, 0, 2 * runs);
        for (uint32_t r = 0; r < runs; r++) {
            if (r) rm_barrier_compute(ctx, cmd);
            rm_timestamp_start(ctx, cmd, b->queries, 2 * r);
            record_run(ctx, cmd, ds[r % count], r ? ds[(r - 1) % count] : NULL);
            rm_timestamp_end(ctx, cmd, b->queries, 2 * r + 1);
        }
        st = rm_oneoff_submit(ctx, cmd);
        uint64_t stamps[2 * TUNE_MAX_RUNS];
        if (st == REPMLP_OK) {
            VkResult r = ctx->vk.vkGetQueryPoolResults(
                ctx->device, b->queries, 0, 2 * runs, 2 * runs * sizeof stamps[0], stamps,
                sizeof stamps[0], VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
            if (r != VK_SUCCESS) st = rm_vk_fail(ctx, r, "vkGetQueryPoolResults");
        }
        for (uint32_t r = 0; st == REPMLP_OK && r < runs; r++)
            t[r] = rm_timestamp_ms(ctx, stamps[2 * r], stamps[2 * r + 1]);
    } else {
        for (uint32_t r = 0; st == REPMLP_OK && r < runs; r++)
            st = run_host(ctx, ds[r % count], &t[r]);
    }
    return st;
}

/* The times of `runs` runs of d on its own (a flattered kernel's scaled to a thousandth of one
 * run's: see TUNE_FLATTER_WORK). */
static repmlp_status run_timed(repmlp_context *ctx, bench *b, const rm_dispatch *d, uint32_t runs,
                               double *t) {
    repmlp_status st = run_alternating(ctx, b, &d, 1, runs, t);
#ifdef REPMLP_FAULT_INJECTION
    if (st == REPMLP_OK && flattered(rm_shader(d->pipeline->shader)->name))
        for (uint32_t r = 0; r < runs; r++) t[r] *= 0.001 / TUNE_FLATTER_WORK;
#endif
    return st;
}

static double median_of(double *t, uint32_t n) {
    qsort(t, n, sizeof *t, cmp_double);
    return t[n / 2];
}

/* Why `got` is not `ref` within tol (per tensor, relative to its largest |ref|), or NULL. */
static const char *differs(const bench *b, const float *got, const float *ref, double tol,
                           char *why, size_t size) {
    for (uint32_t r = 0; r < b->regions; r++) {
        double scale = 0, worst = 0;
        uint64_t at = 0;
        for (uint64_t i = b->region_off[r]; i < b->region_off[r] + b->region_len[r]; i++) {
            if (!isfinite(got[i])) {
                snprintf(why, size, "a non-finite output (%g where the built-in kernel gives %g)",
                         (double)got[i], (double)ref[i]);
                return why;
            }
            double diff = fabs((double)got[i] - (double)ref[i]);
            if (fabs((double)ref[i]) > scale) scale = fabs((double)ref[i]);
            if (diff > worst) {
                worst = diff;
                at = i - b->region_off[r];
            }
        }
        if (worst > tol * scale) {
            snprintf(why, size,
                     "its output differs from the built-in kernel's by %.3g at element %llu of "
                     "tensor %u (%.3g allowed: %.0e of %.3g)",
                     worst, (unsigned long long)at, r, tol * scale, tol, scale);
            return why;
        }
    }
    return NULL;
}

static bool all_finite(const bench *b, const float *x) {
    for (uint32_t r = 0; r < b->regions; r++)
        for (uint64_t i = b->region_off[r]; i < b->region_off[r] + b->region_len[r]; i++)
            if (!isfinite(x[i])) return false;
    return true;
}

static bool limit_refusal(repmlp_status st) {
    return st == REPMLP_ERROR_UNSUPPORTED || st == REPMLP_ERROR_TOO_LARGE;
}

/* Binds d to the bench's operands through the op's bindings hook (AUX window offsets go into
 * d's push constants). */
static repmlp_status bind_to_bench(repmlp_context *ctx, const rm_node *n, bench *b,
                                   rm_dispatch *d) {
    const rm_op_kind *op = &rm_op_kinds[n->kind];
    rm_binding bindings[RM_MAX_BINDINGS];
    repmlp_status st = REPMLP_OK;
    if (op->bindings)
        st = op->bindings(ctx, d, n->label, b->bind, bindings);
    else
        memcpy(bindings, b->bind, op->binding_count * sizeof *bindings);
    if (st == REPMLP_OK) st = rm_dispatch_bind(ctx, b->pool, d, bindings);
    return st;
}

/* Checks and times one candidate into c (builtin: the reference); *best_ms is the best median
 * so far (0: none yet). */
static repmlp_status try_candidate(repmlp_session *s, int node, bench *b,
                                   const rm_gemm_kernel_variant *row, bool builtin, double tol,
                                   double *best_ms, repmlp_tuning_candidate *c) {
    repmlp_context *ctx = s->ctx;
    const rm_node *n = &s->graph.nodes[node];
    char why[256];
    c->kernel = row_name(row);
    c->ms = -1;
    c->outcome = REPMLP_CANDIDATE_DOES_NOT_FIT;
    if (!builtin && denied(ctx, row)) {
        c->outcome = REPMLP_CANDIDATE_DENIED;
        return REPMLP_OK;
    }
    if (!builtin && !rm_limits_shader_fits(ctx, rm_shader(row->shader), why, sizeof why))
        return REPMLP_OK;
    rm_dispatch d = s->dispatches[node]; /* unbound: binding the copy leaves it untouched */
    repmlp_status st = builtin ? REPMLP_OK : prepare_row(ctx, n, row, &d);
    if (st != REPMLP_OK) {
        if (limit_refusal(st)) return REPMLP_OK;
        if (st == REPMLP_ERROR_DEVICE_LOST) return st;
        deny(ctx, row, n->label, repmlp_last_error());
        c->outcome = REPMLP_CANDIDATE_DENIED;
        return REPMLP_OK;
    }
    st = bind_to_bench(ctx, n, b, &d);
    if (limit_refusal(st)) {
        rm_dispatch_unbind(ctx, &d);
        return builtin ? st : REPMLP_OK;
    }
    if (st == REPMLP_OK) st = run_checked(ctx, b, &d, builtin ? b->ref : b->got);
    if (st == REPMLP_OK && builtin && !all_finite(b, b->ref))
        st = rm_fail(REPMLP_ERROR_UNSUPPORTED,
                     "the built-in kernel's output on random data is not finite: nothing to "
                     "check the candidates against");
    if (st == REPMLP_OK && !builtin) {
#ifdef REPMLP_FAULT_INJECTION
        if (corrupt_shader && strcmp(corrupt_shader, c->kernel) == 0)
            b->got[b->region_off[0]] += 1.0f + 2.0f * fabsf(b->got[b->region_off[0]]);
#endif
        if (differs(b, b->got, b->ref, tol, why, sizeof why)) {
            rm_dispatch_unbind(ctx, &d);
            deny(ctx, row, n->label, why);
            c->outcome = REPMLP_CANDIDATE_DENIED;
            return REPMLP_OK;
        }
    }
    /* One timed run decides whether the rest are worth their time. */
    double t[TUNE_MAX_RUNS];
    if (st == REPMLP_OK) st = run_timed(ctx, b, &d, 1, t);
    if (st == REPMLP_OK && *best_ms > 0 && t[0] >= TUNE_SLOW * *best_ms) {
        c->outcome = REPMLP_CANDIDATE_SLOW;
        c->ms = t[0];
    } else if (st == REPMLP_OK) {
        uint32_t runs = TUNE_RUNS;
        while (runs < TUNE_MAX_RUNS && runs * t[0] < TUNE_SPAN_MS) runs++;
        st = run_timed(ctx, b, &d, runs - 1, t + 1);
        if (st == REPMLP_OK) {
            c->ms = median_of(t, runs);
            c->outcome = REPMLP_CANDIDATE_TIMED;
            if (*best_ms <= 0 || c->ms < *best_ms) *best_ms = c->ms;
        }
    }
    rm_dispatch_unbind(ctx, &d);
    return st;
}

/* A winner other than the built-in kernel must win again, timed alternately with it in one
 * submission (TUNE_CONFIRM_PAIRS pairs, medians compared with TUNE_MARGIN): load on a shared
 * machine comes in bursts, which a candidate timed on its own can take for speed. */
static repmlp_status confirm(repmlp_session *s, bench *b, const rm_tune_shape *sh,
                             bool *confirmed) {
    repmlp_context *ctx = s->ctx;
    const rm_node *n = &s->graph.nodes[sh->node];
    rm_dispatch builtin = s->dispatches[sh->node], winner;
    repmlp_status st = prepare_row(ctx, n, sh->winner, &winner);
    if (st != REPMLP_OK) return st;
    st = bind_to_bench(ctx, n, b, &builtin);
    if (st == REPMLP_OK) st = bind_to_bench(ctx, n, b, &winner);
    double t[2 * TUNE_CONFIRM_PAIRS];
    const rm_dispatch *pair[2] = {&builtin, &winner};
    if (st == REPMLP_OK) st = run_alternating(ctx, b, pair, 2, 2 * TUNE_CONFIRM_PAIRS, t);
    rm_dispatch_unbind(ctx, &builtin);
    rm_dispatch_unbind(ctx, &winner);
    if (st != REPMLP_OK) return st;
    double tb[TUNE_CONFIRM_PAIRS], tw[TUNE_CONFIRM_PAIRS];
    for (uint32_t r = 0; r < TUNE_CONFIRM_PAIRS; r++) {
        tb[r] = t[2 * r];
        tw[r] = t[2 * r + 1];
    }
    *confirmed =
        median_of(tw, TUNE_CONFIRM_PAIRS) < TUNE_MARGIN * median_of(tb, TUNE_CONFIRM_PAIRS);
    return REPMLP_OK;
}

static bool same_form(const rm_gemm_kernel_variant *a, const rm_gemm_kernel_variant *b) {
    return a->path == b->path && a->weights == b->weights && a->algorithm == b->algorithm &&
           a->tile_m == b->tile_m;
}

void rm_tune_learn(const repmlp_tuning_candidate *cand, uint32_t count, rm_tune_evidence *ev) {
    double best = 0;
    for (uint32_t i = 0; i < count; i++)
        if (cand[i].outcome == REPMLP_CANDIDATE_TIMED && cand[i].ms > 0 &&
            (best <= 0 || cand[i].ms < best))
            best = cand[i].ms;
    for (uint32_t i = 0; best > 0 && i < count; i++) {
        const repmlp_tuning_candidate *c = &cand[i];
        const rm_gemm_kernel_variant *row = row_named(c->kernel);
        bool measured = c->outcome == REPMLP_CANDIDATE_TIMED || c->outcome == REPMLP_CANDIDATE_SLOW;
        if (!row || !measured || c->ms < 0) continue;
        for (uint32_t v = 0; v < rm_gemm_kernel_variant_count; v++) {
            const rm_gemm_kernel_variant *form = &rm_gemm_kernel_variants[v];
            if (!same_form(form, row)) continue;
            if (c->ms >= TUNE_LOSS * best && ev[form->shader].lost < UINT16_MAX)
                ev[form->shader].lost++;
            if (c->ms <= TUNE_CLOSE * best && ev[form->shader].close < UINT16_MAX)
                ev[form->shader].close++;
        }
    }
}

/* Multiply-adds of a shape: the order in which a session measures its shapes. */
static double shape_work(const rm_tune_key *k) {
    return (double)k->M * k->K * k->N * k->groups;
}

bool rm_tune_pruned(const rm_tune_evidence *ev, const rm_gemm_kernel_variant *row) {
    return ev[row->shader].lost >= TUNE_PRUNE_LOSSES && ev[row->shader].close == 0;
}

/* Measures the candidates of sh (winner included), skipping forms that ev prunes. *spent: the
 * budget ran out first (sh is then incomplete and the built-in choice stays). */
static repmlp_status measure_shape(repmlp_session *s, rm_tune_shape *sh, const rm_tune_evidence *ev,
                                   double deadline, bool *spent, bool *timestamps) {
    repmlp_context *ctx = s->ctx;
    const int node = (int)sh->node;
    bench b;
    memset(&b, 0, sizeof b);
    repmlp_status st = bench_create(s, &s->graph.nodes[node], &b);
    *timestamps = b.queries != VK_NULL_HANDLE;
    double tol = sh->key.w16 ? TUNE_TOL_F16 : TUNE_TOL_F32, best_ms = 0;
    /* The built-in kernel first: its output is the reference. */
    if (st == REPMLP_OK)
        st = try_candidate(s, node, &b, sh->builtin, true, tol, &best_ms, &sh->cand[0]);
    if (st == REPMLP_OK) sh->count = 1;
    for (uint32_t i = 0; st == REPMLP_OK && i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *row = &rm_gemm_kernel_variants[i];
        if (row == sh->builtin || !row_matches(row, &sh->key) || !worth_trying(row, &sh->key))
            continue;
        if (sh->count == REPMLP_TUNING_MAX_CANDIDATES) break;
        if (rm_tune_pruned(ev, row)) {
            sh->cand[sh->count++] =
                (repmlp_tuning_candidate){row_name(row), -1, REPMLP_CANDIDATE_PRUNED};
            continue;
        }
        if (rm_now_ms() > deadline) {
            *spent = true;
            break;
        }
        double row_tol = rm_shader_f16_math(row->shader) ? TUNE_TOL_F16 : tol;
        st = try_candidate(s, node, &b, row, false, row_tol, &best_ms, &sh->cand[sh->count++]);
    }
    if (st != REPMLP_OK || *spent) {
        bench_free(ctx, &b);
        return st;
    }
    double builtin_ms = sh->cand[0].ms, winner_ms = builtin_ms;
    for (uint32_t i = 1; i < sh->count; i++) {
        const repmlp_tuning_candidate *c = &sh->cand[i];
        if (c->outcome == REPMLP_CANDIDATE_TIMED && c->ms < winner_ms &&
            c->ms < TUNE_MARGIN * builtin_ms) {
            winner_ms = c->ms;
            sh->winner = row_named(c->kernel);
        }
    }
    bool confirmed = true;
    if (sh->winner != sh->builtin) st = confirm(s, &b, sh, &confirmed);
    bench_free(ctx, &b);
    if (st == REPMLP_OK && !confirmed) {
        for (uint32_t i = 1; i < sh->count; i++)
            if (sh->cand[i].outcome == REPMLP_CANDIDATE_TIMED &&
                sh->cand[i].ms < TUNE_MARGIN * builtin_ms)
                sh->cand[i].outcome = REPMLP_CANDIDATE_UNCONFIRMED;
        sh->winner = sh->builtin;
    }
    return st;
}

repmlp_status rm_tune_session(repmlp_session *s) {
    repmlp_context *ctx = s->ctx;
    bool measure = (ctx->flags & REPMLP_CONTEXT_TUNE) != 0;
    rm_mutex_lock(&ctx->lock);
    bool known = ctx->tune && ctx->tune->count;
    rm_mutex_unlock(&ctx->lock);
    uint32_t ops = 0;
    for (int i = 0; i < s->graph.node_count; i++) ops += tunable(&s->graph.nodes[i]);
    if ((!measure && !known) || !ops) return REPMLP_OK;
    size_t head = (sizeof(struct rm_tune_report) + 15) / 16 * 16;
    struct rm_tune_report *r =
        rm_calloc(1, head + ops * (sizeof(rm_tune_shape) + sizeof(rm_tune_node)));
    if (!r) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    r->shapes = (rm_tune_shape *)((char *)r + head);
    r->nodes = (rm_tune_node *)(r->shapes + ops);
    s->tune = r;
    /* The distinct shapes, and what the context already knows of them. */
    for (int i = 0; i < s->graph.node_count; i++) {
        const rm_node *n = &s->graph.nodes[i];
        const rm_dispatch *d = &s->dispatches[i];
        const rm_gemm_kernel_variant *builtin = tunable(n) ? row_of_shader(d->pipeline->shader) : 0;
        if (!builtin) continue;
        rm_tune_key key;
        make_key(s, n, d, builtin, &key);
        uint32_t k = 0;
        while (k < r->shape_count && memcmp(&r->shapes[k].key, &key, sizeof key) != 0) k++;
        rm_tune_shape *sh = &r->shapes[k];
        if (k == r->shape_count) {
            r->shape_count++;
            sh->key = key;
            sh->node = (uint32_t)i;
            sh->builtin = sh->winner = builtin;
            sh->source = REPMLP_TUNING_BUILTIN;
            rm_mutex_lock(&ctx->lock);
            const rm_tune_entry *e = store_find(ctx->tune, &key);
            const rm_gemm_kernel_variant *row = e ? row_named(e->winner) : NULL;
            if (row && row_matches(row, &key) && !ctx->tune->deny[row->shader]) {
                sh->winner = row;
                sh->source = REPMLP_TUNING_KNOWN;
            }
            rm_mutex_unlock(&ctx->lock);
        }
        r->nodes[r->node_count++] = (rm_tune_node){(uint32_t)i, k};
    }

    /* The unknown shapes measured least work first (see TUNE_PRUNE_LOSSES). */
    double start = rm_now_ms();
    double deadline = start + (ctx->tune_budget_ms ? ctx->tune_budget_ms : TUNE_DEFAULT_BUDGET_MS);
    bool spent = false;
    uint32_t measured = 0, left = 0;
    rm_tune_evidence evidence[RM_SHADER_COUNT];
    memset(evidence, 0, sizeof evidence);
    for (;;) {
        rm_tune_shape *sh = NULL;
        for (uint32_t k = 0; k < r->shape_count; k++) {
            rm_tune_shape *c = &r->shapes[k];
            if (!measure || c->visited || c->source != REPMLP_TUNING_BUILTIN) continue;
            if (!sh || shape_work(&c->key) < shape_work(&sh->key)) sh = c;
        }
        if (!sh) break;
        sh->visited = true;
        if (spent) {
            left++;
            continue;
        }
        bool stamps = false;
        repmlp_status st = measure_shape(s, sh, evidence, deadline, &spent, &stamps);
        r->timestamps |= stamps;
        const char *label = s->graph.nodes[sh->node].label;
        if (st == REPMLP_ERROR_DEVICE_LOST) return st;
        if (st != REPMLP_OK) {
            rm_log(ctx, REPMLP_LOG_WARNING, "tuning: op %s keeps kernel %s: %s", label,
                   row_name(sh->builtin), repmlp_last_error());
            sh->winner = sh->builtin;
        } else if (spent) {
            sh->winner = sh->builtin;
            left++;
        } else {
            rm_tune_learn(sh->cand, sh->count, evidence);
            sh->source = REPMLP_TUNING_MEASURED;
            measured++;
            rm_mutex_lock(&ctx->lock);
            st = store_put(ctx, &sh->key, row_name(sh->winner));
            rm_mutex_unlock(&ctx->lock);
            if (st != REPMLP_OK)
                rm_log(ctx, REPMLP_LOG_WARNING, "tuning: op %s: not kept: %s", label,
                       repmlp_last_error());
        }
    }

    /* Every op of a shape whose winner is not the built-in choice is prepared again. */
    for (uint32_t i = 0; i < r->node_count; i++) {
        rm_tune_shape *sh = &r->shapes[r->nodes[i].shape];
        const rm_node *n = &s->graph.nodes[r->nodes[i].node];
        if (sh->winner == sh->builtin) continue;
        rm_dispatch tuned;
        repmlp_status st = prepare_row(ctx, n, sh->winner, &tuned);
        if (st == REPMLP_ERROR_DEVICE_LOST) return st;
        if (st == REPMLP_OK) {
            s->dispatches[r->nodes[i].node] = tuned;
        } else {
            rm_log(ctx, REPMLP_LOG_WARNING, "tuning: op %s keeps kernel %s: %s", n->label,
                   row_name(sh->builtin), repmlp_last_error());
            sh->winner = sh->builtin;
            sh->source = REPMLP_TUNING_BUILTIN;
        }
    }
    if (left)
        rm_log(ctx, REPMLP_LOG_INFO,
               "tuning: the budget of %u ms is spent: %u shapes keep the built-in kernel",
               ctx->tune_budget_ms ? ctx->tune_budget_ms : TUNE_DEFAULT_BUDGET_MS, left);
    if (measure)
        rm_log(ctx, REPMLP_LOG_INFO, "tuning: %u GEMM/conv ops, %u shapes, %u measured in %.0f ms",
               r->node_count, r->shape_count, measured, rm_now_ms() - start);
    return REPMLP_OK;
}

repmlp_status repmlp_session_tuning_info(const repmlp_session *s, repmlp_tuning_node *nodes,
                                         uint32_t *count) {
    if (!s || !count)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_tuning_info: NULL argument");
    const struct rm_tune_report *r = s->tune;
    uint32_t total = r ? r->node_count : 0;
    /* Vulkan's count query: NULL asks for the number; a short array gets what fits. */
    uint32_t written = nodes ? (total < *count ? total : *count) : total;
    for (uint32_t i = 0; nodes && i < written; i++) {
        const rm_tune_shape *sh = &r->shapes[r->nodes[i].shape];
        const rm_node *n = &s->graph.nodes[r->nodes[i].node];
        repmlp_tuning_node *o = &nodes[i];
        memset(o, 0, sizeof *o);
        o->node = r->nodes[i].node;
        o->label = n->label;
        o->op = sh->key.kernel == RM_GEMM_KERNEL_GEMM ? "gemm" : "conv";
        o->M = sh->key.M;
        o->K = sh->key.K;
        o->N = sh->key.N;
        o->groups = sh->key.groups;
        o->fp16_weights = sh->key.w16;
        o->builtin = row_name(sh->builtin);
        o->winner = row_name(sh->winner);
        o->source = sh->source;
        o->timestamps = r->timestamps;
        o->candidate_count = sh->source == REPMLP_TUNING_MEASURED ? sh->count : 0;
        memcpy(o->candidates, sh->cand, o->candidate_count * sizeof *sh->cand);
    }
    *count = written;
    return written < total ? REPMLP_INCOMPLETE : REPMLP_OK;
}

/* ---- Tuning files: our header (pinning device, driver and library), then the entries ---- */

repmlp_status rm_tune_serialize(repmlp_context *ctx, unsigned char **out, size_t *size) {
    rm_mutex_lock(&ctx->lock);
    uint32_t count = ctx->tune ? ctx->tune->count : 0;
    size_t payload = (size_t)count * sizeof(rm_tune_entry);
    size_t bytes = sizeof(rm_device_file_header) + payload;
    unsigned char *data = rm_malloc(bytes);
    if (data && count) memcpy(data + sizeof(rm_device_file_header), ctx->tune->entries, payload);
    rm_mutex_unlock(&ctx->lock);
    if (!data) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    rm_device_file_header h;
    rm_device_file_header_make(ctx, TUNE_MAGIC, data + sizeof h, payload, &h);
    memcpy(data, &h, sizeof h);
    *out = data;
    *size = bytes;
    return REPMLP_OK;
}

/* Why the bytes cannot be used, or NULL when they can: the device file's checks, and whole
 * entries. */
static const char *check(const repmlp_context *ctx, const unsigned char *data, size_t size) {
    const char *why =
        rm_device_file_check(ctx, TUNE_MAGIC, "not repmlp-vk tuning data", data, size);
    if (!why && (size - sizeof(rm_device_file_header)) % sizeof(rm_tune_entry) != 0)
        why = "truncated or padded";
    return why;
}

repmlp_status rm_tune_load(repmlp_context *ctx, const unsigned char *data, size_t size,
                           const char *what) {
    const char *why = check(ctx, data, size);
    if (why) {
        rm_log(ctx, REPMLP_LOG_WARNING, "tuning data %s ignored: %s", what, why);
        return REPMLP_OK;
    }
    uint32_t count = (uint32_t)((size - sizeof(rm_device_file_header)) / sizeof(rm_tune_entry)),
             used = 0, missing = 0;
    char first_missing[RM_TUNE_NAME];
    repmlp_status st = REPMLP_OK;
    rm_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < count && st == REPMLP_OK; i++) {
        rm_tune_entry e;
        memcpy(&e, data + sizeof(rm_device_file_header) + i * sizeof e, sizeof e);
        e.winner[RM_TUNE_NAME - 1] = 0;
        /* Rows of kernels this build does not have (removed ones: bench/KERNELS.md) are
         * skipped, not trusted: their shapes keep the built-in choice. */
        const rm_gemm_kernel_variant *row = row_named(e.winner);
        if (!row && !missing++) memcpy(first_missing, e.winner, sizeof first_missing);
        if (!row || !row_matches(row, &e.key)) continue;
        st = store_put(ctx, &e.key, e.winner);
        used += st == REPMLP_OK;
    }
    rm_mutex_unlock(&ctx->lock);
    if (st != REPMLP_OK) return rm_fail_prefix(st, "tuning data %s", what);
    if (missing) {
        /* The name comes from the file: printable characters only. */
        for (char *c = first_missing; *c; c++)
            if (*c < 0x20 || *c > 0x7e) *c = '?';
        rm_log(ctx, REPMLP_LOG_WARNING,
               "tuning data %s: entries naming a kernel this build does not have: %u (first %s); "
               "their shapes keep the built-in choice",
               what, missing, first_missing);
    }
    rm_log(ctx, REPMLP_LOG_INFO, "tuning data %s loaded: %u shapes", what, used);
    return REPMLP_OK;
}
