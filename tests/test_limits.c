/* Device profiles (REPMLP_DEVICE_PROFILE) and the limit checks: each profile clamps the caps as
 * documented and never above the real device's, the public limits call reports them, small ops
 * run under them, what exceeds them is refused before the driver sees it with a message naming
 * the limit; and the GEMM operand path (REPMLP_OPERAND_PATH, else measured and logged). */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repmlp/vulkan.h"
#include "core/context.h"
#include "core/fault.h"
#include "core/limits.h"
#include "core/pipeline.h"
#include "ops/gemm_core.h"
#include "ops/ops.h"
#include "ops_ref.h"

static const char *const profiles[] = {"vulkan-min", "phone"};

/* The log of the contexts made here, kept for the operand-path checks. */
static char operand_log[2048];
static void capture_log(void *user, repmlp_log_level level, const char *message) {
    ts_log(user, level, message);
    if (strstr(message, "operand path") || strstr(message, "device profile")) {
        print_message("log: %s\n", message);
        if (strstr(message, "operand path")) { /* appended: a choice may take two lines */
            size_t n = strlen(operand_log);
            snprintf(operand_log + n, sizeof operand_log - n, "%s%s", n ? " | " : "", message);
        }
    }
}

/* A context made with REPMLP_DEVICE_PROFILE = profile (NULL: unset) and REPMLP_OPERAND_PATH =
 * path (NULL: unset); both are read at creation and unset again right after. */
static repmlp_status make_context(const char *profile, const char *path, repmlp_context **ctx) {
    if (profile)
        setenv("REPMLP_DEVICE_PROFILE", profile, 1);
    else
        unsetenv("REPMLP_DEVICE_PROFILE");
    if (path)
        setenv("REPMLP_OPERAND_PATH", path, 1);
    else
        unsetenv("REPMLP_OPERAND_PATH");
    repmlp_context_desc desc = ts_context_desc();
    desc.log = capture_log;
    *ctx = NULL;
    repmlp_status st = repmlp_context_create(&desc, ctx);
    unsetenv("REPMLP_DEVICE_PROFILE");
    unsetenv("REPMLP_OPERAND_PATH");
    return st;
}

static repmlp_context *context(const char *profile, const char *path) {
    repmlp_context *ctx;
    repmlp_status st = make_context(profile, path, &ctx);
    if (st != REPMLP_OK)
        fail_msg("context (profile %s): %s: %s", profile ? profile : "none", repmlp_status_name(st),
                 repmlp_last_error());
    return ctx;
}

static int env_teardown(void **state) {
    (void)state;
    unsetenv("REPMLP_DEVICE_PROFILE");
    unsetenv("REPMLP_OPERAND_PATH");
    return 0;
}

#define EXPECT_MIN(field, profile_value)                                                           \
    do {                                                                                           \
        uint64_t want_ = real.field < (uint64_t)(profile_value) ? real.field : (profile_value);    \
        if (c->field != want_)                                                                     \
            fail_msg("%s: " #field " is %llu, expected min(real %llu, %llu)", name,                \
                     (unsigned long long)c->field, (unsigned long long)real.field,                 \
                     (unsigned long long)(profile_value));                                         \
        if ((uint64_t)lim.field != (uint64_t)c->field)                                             \
            fail_msg("%s: repmlp_context_limits reports " #field " %llu, caps hold %llu", name,    \
                     (unsigned long long)lim.field, (unsigned long long)c->field);                 \
    } while (0)

#define EXPECT_ALIGN(field, profile_value)                                                         \
    do {                                                                                           \
        uint64_t want_ = real.field > (uint64_t)(profile_value) ? real.field : (profile_value);    \
        assert_int_equal(c->field, want_);                                                         \
        assert_int_equal(lim.field, c->field);                                                     \
    } while (0)

/* Checks the clamped caps of the profile `name` against the real device's. */
static void check_profile_caps(const char *name, const rm_device_caps real,
                               const repmlp_context *ctx) {
    const rm_device_caps *c = &ctx->caps;
    repmlp_device_limits lim;
    assert_int_equal(repmlp_context_limits(ctx, &lim), REPMLP_OK);
    assert_string_equal(lim.profile, name);
    assert_string_equal(c->profile, name);
    bool phone = strcmp(name, "phone") == 0;
    EXPECT_MIN(max_workgroup_invocations, 128);
    for (int i = 0; i < 3; i++) {
        EXPECT_MIN(max_workgroup_size[i], i == 2 ? 64 : 128);
        EXPECT_MIN(max_workgroup_count[i], 65535);
    }
    EXPECT_MIN(max_shared_memory, 16384);
    EXPECT_MIN(max_push_constants, 128);
    EXPECT_MIN(max_per_stage_storage_buffers, 4);
    EXPECT_MIN(max_per_stage_sampled_images, 16);
    EXPECT_MIN(max_per_stage_uniform_buffers, 12);
    EXPECT_MIN(max_bound_descriptor_sets, 4);
    EXPECT_MIN(max_descriptor_set_storage_buffers, 24);
    EXPECT_MIN(max_per_set_descriptors, 1024);
    EXPECT_MIN(max_storage_buffer_range, 1ull << 27);
    EXPECT_MIN(max_texel_buffer_elements, 65536);
    EXPECT_MIN(max_allocation_size, phone ? 256ull << 20 : 1ull << 30);
    EXPECT_ALIGN(min_storage_buffer_offset_alignment, 256);
    EXPECT_ALIGN(min_texel_buffer_offset_alignment, 256);
    /* Not clamped: the heap and the real subgroup size. */
    assert_int_equal(c->device_local_bytes, real.device_local_bytes);
    assert_int_equal(lim.device_local_bytes, real.device_local_bytes);
    assert_int_equal(c->subgroup_size, real.subgroup_size);
    assert_int_equal(lim.subgroup_size, real.subgroup_size);
    /* The planning width: the real one, or 64 for phone (the one value that may go up). */
    assert_int_equal(c->plan_subgroup_size, phone ? 64 : real.subgroup_size);
    assert_int_equal(lim.plan_subgroup_size, c->plan_subgroup_size);
    /* No optional features; timestamps kept by vulkan-min only. */
    assert_false(c->storage_16bit);
    assert_false(c->fp16_weights);
    assert_false(c->subgroup_arithmetic);
    assert_int_equal(lim.storage_16bit, 0);
    assert_int_equal(lim.subgroup_arithmetic, 0);
    assert_int_equal(c->timestamps, phone ? false : real.timestamps);
    assert_int_equal(c->timestamp_valid_bits, phone ? 0 : real.timestamp_valid_bits);
    assert_int_equal(lim.timestamps, c->timestamps);
    assert_int_equal(lim.timestamp_valid_bits, c->timestamp_valid_bits);
    /* Never above the real device (alignments never below). */
    assert_true(c->max_workgroup_invocations <= real.max_workgroup_invocations);
    assert_true(c->max_storage_buffer_range <= real.max_storage_buffer_range);
    assert_true(c->max_allocation_size <= real.max_allocation_size);
    assert_true(c->max_per_stage_storage_buffers <= real.max_per_stage_storage_buffers);
    assert_true(c->min_storage_buffer_offset_alignment >= real.min_storage_buffer_offset_alignment);
    print_message("%s: storage buffers %u per stage (real %u), storage range %llu (real %llu), "
                  "texel elements %llu (real %llu), allocation %llu (real %llu), alignment %llu "
                  "(real %llu), plan subgroup %u (real %u), timestamps %d\n",
                  name, c->max_per_stage_storage_buffers, real.max_per_stage_storage_buffers,
                  (unsigned long long)c->max_storage_buffer_range,
                  (unsigned long long)real.max_storage_buffer_range,
                  (unsigned long long)c->max_texel_buffer_elements,
                  (unsigned long long)real.max_texel_buffer_elements,
                  (unsigned long long)c->max_allocation_size,
                  (unsigned long long)real.max_allocation_size,
                  (unsigned long long)c->min_storage_buffer_offset_alignment,
                  (unsigned long long)real.min_storage_buffer_offset_alignment,
                  c->plan_subgroup_size, real.subgroup_size, c->timestamps);
}

static void profiles_clamp_caps(void **state) {
    (void)state;
    repmlp_context *ctx = context(NULL, NULL);
    rm_device_caps real = ctx->caps;
    repmlp_device_limits lim;
    assert_int_equal(repmlp_context_limits(ctx, &lim), REPMLP_OK);
    assert_string_equal(lim.profile, "none");
    assert_int_equal(lim.max_per_stage_storage_buffers, real.max_per_stage_storage_buffers);
    assert_int_equal(lim.max_allocation_size, real.max_allocation_size);
    assert_int_equal(lim.plan_subgroup_size, real.subgroup_size);
    assert_int_equal(repmlp_context_limits(NULL, &lim), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_int_equal(repmlp_context_limits(ctx, NULL), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "repmlp_context_limits"));

    for (size_t p = 0; p < 2; p++) {
        repmlp_context *pc = context(profiles[p], NULL);
        check_profile_caps(profiles[p], real, pc);
        ts_context_done(pc);
        /* An imported context reads the profile too. */
        setenv("REPMLP_DEVICE_PROFILE", profiles[p], 1);
        repmlp_vulkan_import im = {.size = sizeof(repmlp_vulkan_import),
                                   .instance = ctx->instance,
                                   .physical_device = ctx->physical_device,
                                   .device = ctx->device,
                                   .queue_family = ctx->queue_family,
                                   .queue = ctx->queue,
                                   .storage_16bit_enabled = real.storage_16bit};
        repmlp_context_desc desc = ts_context_desc();
        repmlp_context *imported = NULL;
        repmlp_status st = repmlp_context_import(&im, &desc, &imported);
        unsetenv("REPMLP_DEVICE_PROFILE");
        assert_int_equal(st, REPMLP_OK);
        check_profile_caps(profiles[p], real, imported);
        repmlp_context_destroy(imported);
    }
    ts_context_done(ctx);
}

static void unknown_profile(void **state) {
    (void)state;
    repmlp_context *ctx = (repmlp_context *)0x1;
    assert_int_equal(make_context("desktop-max", NULL, &ctx), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_null(ctx);
    const char *e = repmlp_last_error();
    print_message("unknown profile: %s\n", e);
    assert_non_null(strstr(e, "REPMLP_DEVICE_PROFILE"));
    assert_non_null(strstr(e, "desktop-max"));
    assert_non_null(strstr(e, "vulkan-min"));
    assert_non_null(strstr(e, "phone"));
    assert_null(strchr(e, '\n'));
    /* The imported path refuses it too, before touching anything. */
    repmlp_context *owner = context(NULL, NULL);
    setenv("REPMLP_DEVICE_PROFILE", "Vulkan-Min", 1);
    repmlp_vulkan_import im = {.size = sizeof(repmlp_vulkan_import),
                               .instance = owner->instance,
                               .physical_device = owner->physical_device,
                               .device = owner->device,
                               .queue_family = owner->queue_family,
                               .queue = owner->queue};
    repmlp_context *imported = NULL;
    repmlp_context_desc desc = ts_context_desc();
    assert_int_equal(repmlp_context_import(&im, &desc, &imported), REPMLP_ERROR_INVALID_ARGUMENT);
    unsetenv("REPMLP_DEVICE_PROFILE");
    assert_null(imported);
    assert_non_null(strstr(repmlp_last_error(), "REPMLP_DEVICE_PROFILE"));
    /* So does an unknown operand path. */
    assert_int_equal(make_context(NULL, "fastest", &ctx), REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "REPMLP_OPERAND_PATH"));
    assert_non_null(strstr(repmlp_last_error(), "texel"));
    ts_context_done(owner);
}

static void run_avgpool(repmlp_context *ctx, uint32_t N, uint32_t C, uint32_t H, uint32_t W,
                        uint32_t k) {
    size_t nin = (size_t)N * C * H * W, nout = nin / (k * k);
    float *x = malloc(nin * sizeof *x), *y = malloc(nout * sizeof *y);
    double *want = malloc(nout * sizeof *want);
    ts_rng rng = ts_rng_make(nin + k);
    ts_fill(&rng, x, nin, -2.0f, 2.0f);
    ref_avgpool(x, N, C, H, W, k, k, want);
    rm_buffer bx = ts_buffer_from(ctx, x, nin), by = ts_buffer_from(ctx, NULL, nout);
    rm_avgpool_params p = {N, C, H, W, k, k};
    rm_dispatch d;
    assert_int_equal(rm_avgpool_prepare(ctx, &p, &d), REPMLP_OK);
    rm_binding b[2] = {ts_bind(&bx), ts_bind(&by)};
    double err = ts_run_compare(ctx, &d, b, &by, y, want, nout, NULL);
    print_message("  avgpool N=%u C=%u %ux%u window %u (profile %s): max rel error %.3g\n", N, C, H,
                  W, k, ctx->caps.profile, err);
    assert_true(err < 1e-5);
    ts_destroy_buffers(ctx, &bx, &by, NULL);
    free(x), free(y), free(want);
}

static void run_broadcast_add(repmlp_context *ctx, uint32_t N, uint32_t C, uint32_t H, uint32_t W,
                              uint32_t h, uint32_t w) {
    size_t n = (size_t)N * C * H * W, nv = n / (h * w);
    float *x = malloc(n * sizeof *x), *v = malloc(nv * sizeof *v), *y = malloc(n * sizeof *y);
    double *want = malloc(n * sizeof *want);
    ts_rng rng = ts_rng_make(n + h * 3 + w);
    ts_fill(&rng, x, n, -1.0f, 1.0f);
    ts_fill(&rng, v, nv, -3.0f, 3.0f);
    ref_broadcast_add(x, v, N, C, H, W, h, w, want);
    rm_buffer bx = ts_buffer_from(ctx, x, n), bv = ts_buffer_from(ctx, v, nv);
    rm_broadcast_add_params p = {N, C, H, W, h, w};
    rm_dispatch d;
    assert_int_equal(rm_broadcast_add_prepare(ctx, &p, &d), REPMLP_OK);
    rm_binding b[2] = {ts_bind(&bx), ts_bind(&bv)};
    ts_run1(ctx, &d, b);
    ts_buffer_read(ctx, &bx, y, n);
    double err = ts_max_rel_error(y, want, n);
    print_message("  broadcast_add N=%u C=%u %ux%u partition %ux%u (profile %s): max rel error "
                  "%.3g\n",
                  N, C, H, W, h, w, ctx->caps.profile, err);
    assert_true(err < 1e-7);
    ts_destroy_buffers(ctx, &bx, &bv, NULL);
    free(x), free(v), free(y), free(want);
}

/* Ops of at most 2 bindings run correctly under every profile. */
static void small_ops_run(void **state) {
    (void)state;
    for (size_t p = 0; p < 2; p++) {
        repmlp_context *ctx = context(profiles[p], NULL);
        run_avgpool(ctx, 2, 7, 21, 14, 7);
        run_avgpool(ctx, 1, 3, 56, 56, 56);
        run_broadcast_add(ctx, 2, 7, 14, 21, 7, 7);
        run_broadcast_add(ctx, 1, 49, 6, 9, 2, 3);
        ts_context_done(ctx);
    }
}

/* Under the profiles every pipeline fits: the GEMM core (storage variant: 4 storage buffers;
 * texel: 2 storage + 3 texel) and BatchNorm (4) run and compute the right thing. A layout that
 * declares more storage buffers than the profile allows is refused, loudly and before the
 * driver sees it. */
static void four_buffer_pipelines(void **state) {
    (void)state;
    for (size_t p = 0; p < 2; p++) {
        repmlp_context *ctx = context(profiles[p], NULL);
        rm_shader_info seven = *rm_shader(RM_SHADER_GEMM_M8);
        seven.name = "seven";
        seven.binding_count = 7;
        seven.texel_mask = 0;
        uint32_t local[3] = {8, 8, 1};
        assert_int_equal(rm_limits_check_pipeline(ctx, &seven, local), REPMLP_ERROR_UNSUPPORTED);
        const char *e = repmlp_last_error();
        print_message("%s: %s\n", profiles[p], e);
        assert_non_null(strstr(e, "pipeline seven"));
        assert_non_null(strstr(e, "7 storage buffers"));
        assert_non_null(strstr(e, "4 per stage"));
        assert_non_null(strstr(e, "maxPerStageDescriptorStorageBuffers"));
        assert_non_null(strstr(e, profiles[p]));
        rm_dispatch d;
        rm_batchnorm_params bn = {1, 8, 16, false};
        assert_int_equal(rm_batchnorm_prepare(ctx, &bn, &d), REPMLP_OK);

        uint32_t M = 33, K = 64, NO = 40, G = 2;
        size_t nx = (size_t)M * K * G, nw = (size_t)G * NO * K, ny = (size_t)M * NO * G;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(G * NO * 4),
              *y = malloc(ny * 4);
        double *want = malloc(ny * 8);
        ts_rng rng = ts_rng_make(7);
        ts_fill(&rng, x, nx, -1, 1);
        ts_fill(&rng, w, nw, -1, 1);
        ts_fill(&rng, b, G * NO, -1, 1);
        ref_gemm(x, w, b, M, K, NO, G, 0, want);
        rm_buffer bx = ts_buffer_from(ctx, x, nx);
        rm_buffer bw = ts_weight_buffer(ctx, w, b, G, NO, K), by = ts_buffer_from(ctx, NULL, ny);
        rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                            ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
        rm_gemm_params g = rm_gemm_row_major(M, K, NO, G);
        g.has_bias = true;
        const rm_gemm_variant variants[2] = {RM_GEMM_STORAGE, RM_GEMM_TEXEL};
        for (int v = 0; v < 2; v++) {
            g.variant = variants[v];
            assert_int_equal(rm_gemm_prepare(ctx, &g, &d), REPMLP_OK);
            rm_binding bind[RM_MAX_BINDINGS];
            ts_gemm_bindings(ctx, &d, ops, bind);
            double err = ts_run_compare(ctx, &d, bind, &by, y, want, ny, NULL);
            print_message("%s: %s GEMM M=%u K=%u N=%u g=%u: max rel error %.3g\n", profiles[p],
                          v ? "texel" : "storage", M, K, NO, G, err);
            assert_true(err < 1e-5);
        }
        /* Texel operands beyond the profile's 65536 elements are refused (TOO_LARGE). */
        rm_gemm_params big = rm_gemm_row_major(300, 256, 64, 1);
        big.variant = RM_GEMM_TEXEL;
        assert_int_equal(rm_gemm_prepare(ctx, &big, &d), REPMLP_ERROR_TOO_LARGE);
        assert_non_null(strstr(repmlp_last_error(), "maxTexelBufferElements"));
        /* A weight beyond the profile's 2^27-byte binding range runs as several dispatches. */
        big = rm_gemm_row_major(1, 8192, 4160, 1); /* 65 blocks of 2 MiB */
        big.variant = RM_GEMM_STORAGE;
        assert_int_equal(rm_gemm_prepare(ctx, &big, &d), REPMLP_OK);
        assert_int_equal(d.part_count, 2);
        assert_true(d.parts[0].range <= (1u << 27) && d.parts[1].range <= (1u << 27));
        ts_destroy_buffers(ctx, &bx, &bw, &by, NULL);
        free(x), free(w), free(b), free(y), free(want);
        ts_context_done(ctx);
    }
}

/* Under each profile (128 invocations, 16 KiB shared memory, no subgroup arithmetic) every
 * texel row of the other GEMM algorithms either plans within the limits and computes the right
 * thing, or (the subgroup GEMV) is refused naming subgroup arithmetic. */
static void algorithms_within_profiles(void **state) {
    (void)state;
    uint32_t M = 7, K = 97, NO = 70, G = 2;
    size_t nx = (size_t)M * K * G, nw = (size_t)G * NO * K, ny = (size_t)M * NO * G;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(G * NO * 4), *y = malloc(ny * 4);
    double *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(11);
    ts_fill(&rng, x, nx, -1, 1);
    ts_fill(&rng, w, nw, -1, 1);
    ts_fill(&rng, b, G * NO, -1, 1);
    ref_gemm(x, w, b, M, K, NO, G, 0, want);
    for (size_t p = 0; p < 2; p++) {
        repmlp_context *ctx = context(profiles[p], NULL);
        rm_buffer bx = ts_buffer_from(ctx, x, nx);
        rm_buffer bw = ts_weight_buffer(ctx, w, b, G, NO, K), by = ts_buffer_from(ctx, NULL, ny);
        rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                            ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
        uint32_t planned = 0;
        for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
            const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
            if (v->kernel != RM_GEMM_KERNEL_GEMM || v->path != RM_OPERAND_TEXEL ||
                v->algorithm == RM_GEMM_ALGORITHM_REGISTER)
                continue;
            rm_gemm_params g = rm_gemm_row_major(M, K, NO, G);
            g.has_bias = true;
            g.force = v;
            rm_dispatch d;
            repmlp_status st = rm_gemm_prepare(ctx, &g, &d);
            const char *name = rm_shader(v->shader)->name;
            if (v->algorithm == RM_GEMM_ALGORITHM_SUBGROUP_GEMV) {
                assert_int_equal(st, REPMLP_ERROR_UNSUPPORTED);
                print_message("%s: %s: %s\n", profiles[p], name, repmlp_last_error());
                assert_non_null(strstr(repmlp_last_error(), "subgroup arithmetic"));
                continue;
            }
            /* The profiles refuse what they must: the 256-invocation shared tile (128 at most),
             * fp16 arithmetic and cooperative matrices (features off); every other row plans. */
            bool refused = v->algorithm == RM_GEMM_ALGORITHM_SHARED_F16 ||
                           v->algorithm == RM_GEMM_ALGORITHM_COOPMAT_NV ||
                           (v->algorithm == RM_GEMM_ALGORITHM_SHARED && v->tile_m == 8);
            if (refused) {
                assert_int_equal(st, REPMLP_ERROR_UNSUPPORTED);
                print_message("%s: %s: %s\n", profiles[p], name, repmlp_last_error());
                continue;
            }
            if (st != REPMLP_OK) fail_msg("%s: %s: %s", profiles[p], name, repmlp_last_error());
            const uint32_t *wg = d.pipeline->spec;
            assert_true(wg[0] * wg[1] * wg[2] <= 128);
            if (v->algorithm == RM_GEMM_ALGORITHM_SPLIT_K) /* 8 lanes x slices x TM x 2 vec4s */
                assert_true(wg[1] * 8u * v->tile_m * 2u * 16u <= 16384);
            rm_binding bind[RM_MAX_BINDINGS];
            ts_gemm_bindings(ctx, &d, ops, bind);
            double err = ts_run_compare(ctx, &d, bind, &by, y, want, ny, NULL);
            print_message("%s: %s workgroup %ux%ux%u: max rel error %.3g\n", profiles[p], name,
                          wg[0], wg[1], wg[2], err);
            assert_true(err < 1e-5);
            planned++;
        }
        assert_true(planned > 0);
        ts_destroy_buffers(ctx, &bx, &bw, &by, NULL);
        ts_context_done(ctx);
    }
    free(x), free(w), free(b), free(y), free(want);
}

/* A buffer over the profile's allocation limit is refused before any Vulkan call. */
static void allocation_limit(void **state) {
    (void)state;
    for (size_t p = 0; p < 2; p++) {
        repmlp_context *ctx = context(profiles[p], NULL);
        uint64_t limit = ctx->caps.max_allocation_size;
        assert_true(limit <= (strcmp(profiles[p], "phone") == 0 ? 256ull << 20 : 1ull << 30));
        rm_buffer b;
        rm_fault_arm(RM_FAULT_VULKAN_ALLOC, 0); /* fail none, count the Vulkan creations */
        assert_int_equal(rm_buffer_create(ctx, limit + 16, RM_BUFFER_ACTIVATIONS, &b),
                         REPMLP_ERROR_TOO_LARGE);
        if (rm_fault_enabled()) assert_int_equal(rm_fault_calls(RM_FAULT_VULKAN_ALLOC), 0);
        const char *e = repmlp_last_error();
        print_message("%s: %s\n", profiles[p], e);
        assert_non_null(strstr(e, "maxMemoryAllocationSize"));
        assert_non_null(strstr(e, profiles[p]));
        /* A storage binding over maxStorageBufferRange (2^27) is refused at bind time. */
        rm_avgpool_params ap = {1, 1, 8, 8, 1, 1};
        rm_dispatch d;
        assert_int_equal(rm_avgpool_prepare(ctx, &ap, &d), REPMLP_OK);
        rm_buffer small = ts_buffer_from(ctx, NULL, 64);
        rm_binding bind[2] = {{small.buffer, 0, (1ull << 27) + 4}, ts_bind(&small)};
        VkDescriptorPool pool;
        assert_int_equal(rm_descriptor_pool_create(ctx, 1, &pool), REPMLP_OK);
        assert_int_equal(rm_dispatch_bind(ctx, pool, &d, bind), REPMLP_ERROR_TOO_LARGE);
        assert_non_null(strstr(repmlp_last_error(), "maxStorageBufferRange"));
        /* And an offset off the profile's 256-byte alignment. */
        bind[0] = (rm_binding){small.buffer, 16, 64};
        assert_int_equal(rm_dispatch_bind(ctx, pool, &d, bind), REPMLP_ERROR_UNSUPPORTED);
        assert_non_null(strstr(repmlp_last_error(), "minStorageBufferOffsetAlignment"));
        rm_descriptor_pool_destroy(ctx, pool);
        rm_buffer_destroy(ctx, &small);
        /* A workgroup over the profile's 128 invocations. */
        uint32_t spec[3] = {256, 1, 1};
        const rm_pipeline *pl;
        assert_int_equal(rm_pipeline_get(ctx, RM_SHADER_AVGPOOL, spec, 3, &pl),
                         REPMLP_ERROR_UNSUPPORTED);
        assert_non_null(strstr(repmlp_last_error(), "maxComputeWorkGroup"));
        ts_context_done(ctx);
    }
}

/* The kernel variant an AUTO GEMM of 64 rows gets on ctx. */
static bool auto_gemm_is_texel(repmlp_context *ctx) {
    rm_gemm_params g = rm_gemm_row_major(64, 96, 80, 1);
    rm_dispatch d;
    repmlp_status st = rm_gemm_prepare(ctx, &g, &d);
    if (st != REPMLP_OK) fail_msg("AUTO GEMM: %s", repmlp_last_error());
    return rm_shader(d.pipeline->shader)->texel_mask != 0;
}

static void operand_path(void **state) {
    (void)state;
    /* Forced. */
    repmlp_context *ctx = context(NULL, "storage");
    operand_log[0] = 0;
    assert_false(auto_gemm_is_texel(ctx));
    assert_int_equal(ctx->operand_path, RM_OPERAND_STORAGE);
    assert_non_null(strstr(operand_log, "REPMLP_OPERAND_PATH"));
    ts_context_done(ctx);
    ctx = context(NULL, "texel");
    assert_true(auto_gemm_is_texel(ctx));
    assert_int_equal(ctx->operand_path, RM_OPERAND_TEXEL);
    ts_context_done(ctx);

    /* Measured: lazily (not at creation), once, with both times and the choice logged. */
    ctx = context(NULL, NULL);
    assert_int_equal(ctx->operand_path, RM_OPERAND_UNDECIDED);
    operand_log[0] = 0;
    bool texel = auto_gemm_is_texel(ctx);
    assert_int_not_equal(ctx->operand_path, RM_OPERAND_UNDECIDED);
    assert_int_equal(texel, ctx->operand_path == RM_OPERAND_TEXEL);
    print_message("%s: %s\n", ctx->info.name, operand_log);
    assert_non_null(strstr(operand_log, texel ? "operand path: texel" : "operand path: storage"));
    assert_non_null(strstr(operand_log, "storage buffers"));
    assert_non_null(strstr(operand_log, "texel buffers"));
    operand_log[0] = 0;
    assert_int_equal(auto_gemm_is_texel(ctx), texel);
    assert_int_equal(operand_log[0], 0); /* measured once per context */
    ts_context_done(ctx);

    /* Under vulkan-min both kernels fit (4 storage buffers at most): a forced path is kept. */
    ctx = context("vulkan-min", "storage");
    operand_log[0] = 0;
    assert_false(auto_gemm_is_texel(ctx));
    assert_non_null(strstr(operand_log, "REPMLP_OPERAND_PATH"));
    ts_context_done(ctx);

    /* No profile allows fewer than 4 storage buffers, so a device that does is simulated: a
     * forced path that does not fit is ignored, with a log line, rather than failing... */
    ctx = context(NULL, "storage");
    ctx->caps.max_per_stage_storage_buffers = 3;
    operand_log[0] = 0;
    assert_true(auto_gemm_is_texel(ctx));
    assert_non_null(strstr(operand_log, "REPMLP_OPERAND_PATH=storage ignored"));
    ts_context_done(ctx);

    /* ... and the kernel that fits is taken without measuring. */
    ctx = context(NULL, NULL);
    ctx->caps.max_per_stage_storage_buffers = 3;
    operand_log[0] = 0;
    assert_true(auto_gemm_is_texel(ctx));
    assert_non_null(strstr(operand_log, "not measured"));
    assert_non_null(strstr(operand_log, "maxPerStageDescriptorStorageBuffers"));
    ts_context_done(ctx);
}

/* Every host allocation and Vulkan creation of the measurement fails in turn (the pipelines
 * stay built: their creation is walked by test_faults): a clean status, nothing leaked, the
 * choice left open, and the next call measures. */
static void operand_path_faults(void **state) {
    (void)state;
    if (!rm_fault_enabled())
        ts_skip("failure injection is not compiled in: configure with -DREPMLP_FAULT_INJECTION=ON");
    repmlp_context *ctx = context(NULL, NULL);
    ctx->log = ts_log; /* quiet: one measurement per step */
    rm_operand_path path;
    assert_int_equal(rm_operand_path_get(ctx, &path), REPMLP_OK); /* builds the pipelines */
    static const rm_fault_kind kinds[2] = {RM_FAULT_HOST_ALLOC, RM_FAULT_VULKAN_ALLOC};
    for (int k = 0; k < 2; k++) {
        ctx->operand_path = RM_OPERAND_UNDECIDED;
        rm_fault_arm(kinds[k], 0);
        assert_int_equal(rm_operand_path_get(ctx, &path), REPMLP_OK);
        long calls = rm_fault_calls(kinds[k]), failures = 0;
        for (long n = 1; n <= calls; n++) {
            ctx->operand_path = RM_OPERAND_UNDECIDED;
            rm_fault_arm(kinds[k], n);
            repmlp_status st = rm_operand_path_get(ctx, &path);
            rm_fault_arm(kinds[k], 0);
            if (st == REPMLP_OK) continue;
            failures++;
            if (st != REPMLP_ERROR_OUT_OF_HOST_MEMORY && st != REPMLP_ERROR_OUT_OF_DEVICE_MEMORY)
                fail_msg("fault %ld: %s: %s", n, repmlp_status_name(st), repmlp_last_error());
            assert_non_null(strstr(repmlp_last_error(), "measuring the GEMM operand path"));
            assert_null(strchr(repmlp_last_error(), '\n'));
            assert_int_equal(ctx->operand_path, RM_OPERAND_UNDECIDED);
            assert_int_equal(rm_operand_path_get(ctx, &path), REPMLP_OK);
            assert_int_not_equal(path, RM_OPERAND_UNDECIDED);
        }
        print_message("operand-path measurement, %s faults: %ld points, %ld injected failures, "
                      "all clean\n",
                      k ? "Vulkan" : "host", calls, failures);
        assert_true(failures >= 1);
    }
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(profiles_clamp_caps, env_teardown),
        cmocka_unit_test_teardown(unknown_profile, env_teardown),
        cmocka_unit_test_teardown(small_ops_run, env_teardown),
        cmocka_unit_test_teardown(four_buffer_pipelines, env_teardown),
        cmocka_unit_test_teardown(algorithms_within_profiles, env_teardown),
        cmocka_unit_test_teardown(allocation_limit, env_teardown),
        cmocka_unit_test_teardown(operand_path, env_teardown),
        cmocka_unit_test_teardown(operand_path_faults, env_teardown),
    };
    return ts_exit_code(ts_run_group(tests, NULL, env_teardown));
}
