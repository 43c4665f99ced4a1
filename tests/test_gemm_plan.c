/* The built-in GEMM/conv plan without a device (rm_gemm_core_plan on a context that holds only
 * caps): few rows (batch-1 FCs) must not leave more than half of a 32- or 64-lane subgroup
 * idle, on a GPU's limits and on the Vulkan minimums (the phone profile plans 64 lanes), while
 * the CPU drivers' widths (lavapipe 8, SwiftShader 4) and a forced row tile keep the register
 * tile, whose speed there is measured. */
#include <string.h>

#include "test_support.h"
#include "core/context.h"
#include "core/pipeline_stats.h"
#include "ops/gemm_core.h"

static const uint32_t rows[] = {1, 3, 7, 11, 12, 16, 24};
/* (K, N): a classifier head, a global-perceptron FC, a short K (8 steps) */
static const uint32_t shapes[][2] = {{768, 1000}, {512, 32}, {8, 64}};

/* A context holding only caps: a GPU's limits (minimum: the Vulkan 1.1 required ones, as the
 * vulkan-min and phone profiles plan) with workgroups planned for plan_subgroup lanes. */
static repmlp_context *fake_context(uint32_t plan_subgroup, bool minimum) {
    static repmlp_context ctx;
    memset(&ctx, 0, sizeof ctx);
    rm_device_caps *c = &ctx.caps;
    c->profile = minimum ? "phone" : "none";
    c->max_workgroup_invocations = minimum ? 128 : 1024;
    c->max_workgroup_size[0] = minimum ? 128 : 1024;
    c->max_workgroup_size[1] = minimum ? 128 : 1024;
    c->max_workgroup_size[2] = 64;
    for (int i = 0; i < 3; i++) c->max_workgroup_count[i] = 65535;
    c->max_shared_memory = minimum ? 16384 : 65536;
    c->max_texel_buffer_elements = UINT32_MAX; /* the texel path's own limit is not tested here */
    c->max_storage_buffer_range = minimum ? 1u << 27 : UINT32_MAX;
    c->subgroup_size = plan_subgroup;
    c->plan_subgroup_size = plan_subgroup;
    return &ctx;
}

static rm_gemm_core problem(rm_gemm_kernel kernel, rm_gemm_variant path, uint32_t M, uint32_t K,
                            uint32_t N) {
    return (rm_gemm_core){.name = "plan test",
                          .kernel = kernel,
                          .variant = path,
                          .M = M,
                          .K = K,
                          .NO = N,
                          .groups = 1};
}

/* Plans c on ctx; returns the row and fills the lanes the workgroup fills. */
static const rm_gemm_kernel_variant *plan(repmlp_context *ctx, const rm_gemm_core *c,
                                          repmlp_compile_stats *lanes) {
    const rm_gemm_kernel_variant *v = NULL;
    uint32_t spec[RM_GEMM_MAX_SPEC] = {0};
    uint64_t grid[3];
    repmlp_status st = rm_gemm_core_plan(ctx, c, &v, spec, grid);
    if (st != REPMLP_OK) fail_msg("M=%u K=%u N=%u: %s", c->M, c->K, c->NO, repmlp_last_error());
    rm_pipeline_stats_lanes(spec, ctx->caps.plan_subgroup_size, lanes);
    assert_true(spec[0] * spec[1] * spec[2] <= ctx->caps.max_workgroup_invocations);
    return v;
}

static void fills_half_a_subgroup(void **state) {
    (void)state;
    static const uint32_t widths[] = {32, 64};
    static const rm_gemm_kernel kernels[] = {RM_GEMM_KERNEL_GEMM, RM_GEMM_KERNEL_CONV};
    static const rm_gemm_variant paths[] = {RM_GEMM_STORAGE, RM_GEMM_TEXEL};
    for (int minimum = 0; minimum < 2; minimum++)
        for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
            for (size_t k = 0; k < 2; k++)
                for (size_t p = 0; p < 2; p++)
                    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                        for (size_t m = 0; m < sizeof rows / sizeof *rows; m++) {
                            repmlp_context *ctx = fake_context(widths[w], minimum);
                            rm_gemm_core c =
                                problem(kernels[k], paths[p], rows[m], shapes[s][0], shapes[s][1]);
                            repmlp_compile_stats l;
                            const rm_gemm_kernel_variant *v = plan(ctx, &c, &l);
                            if (2 * l.lanes_active < l.lanes)
                                fail_msg("%s M=%u K=%u N=%u, %u-lane subgroups%s: kernel %s "
                                         "runs %ux%ux%u, %u of %u lanes",
                                         kernels[k] == RM_GEMM_KERNEL_GEMM ? "gemm" : "conv", c.M,
                                         c.K, c.NO, widths[w],
                                         minimum ? " (Vulkan minimum limits)" : "",
                                         rm_shader(v->shader)->name, l.workgroup[0], l.workgroup[1],
                                         l.workgroup[2], l.lanes_active, l.lanes);
                        }
}

/* A K of 2 steps gives split-K 2 slices (16 lanes): from 4 rows on, shorter row tiles fill
 * half of the subgroup instead (the test fixtures' small fc3 layers). */
static void short_k_takes_shorter_tiles(void **state) {
    (void)state;
    static const uint32_t few[] = {4, 7, 8, 11};
    for (uint32_t width = 32; width <= 64; width *= 2)
        for (size_t m = 0; m < sizeof few / sizeof *few; m++) {
            repmlp_context *ctx = fake_context(width, true);
            rm_gemm_core c = problem(RM_GEMM_KERNEL_GEMM, RM_GEMM_STORAGE, few[m], 2, 64);
            repmlp_compile_stats l;
            const rm_gemm_kernel_variant *v = plan(ctx, &c, &l);
            if (2 * l.lanes_active < l.lanes)
                fail_msg("M=%u K=2, %u-lane subgroups: kernel %s fills %u of %u lanes", c.M, width,
                         rm_shader(v->shader)->name, l.lanes_active, l.lanes);
        }
}

/* lavapipe plans 8 lanes, SwiftShader 4: every M keeps the register tile there. */
static void cpu_widths_keep_the_register_tile(void **state) {
    (void)state;
    static const uint32_t widths[] = {4, 8};
    for (size_t w = 0; w < 2; w++)
        for (size_t m = 0; m < sizeof rows / sizeof *rows; m++) {
            repmlp_context *ctx = fake_context(widths[w], false);
            rm_gemm_core c = problem(RM_GEMM_KERNEL_GEMM, RM_GEMM_STORAGE, rows[m], 768, 1000);
            repmlp_compile_stats l;
            assert_int_equal(plan(ctx, &c, &l)->algorithm, RM_GEMM_ALGORITHM_REGISTER);
        }
}

/* A row tile forced by the caller (repmlp-bench-kernels --tiles, the tests' tile sweeps) is the
 * register tile with that many rows, also where it leaves lanes idle. */
static void forced_tile_stays(void **state) {
    (void)state;
    repmlp_context *ctx = fake_context(64, false);
    rm_gemm_core c = problem(RM_GEMM_KERNEL_GEMM, RM_GEMM_STORAGE, 1, 768, 1000);
    c.tile_m = 1;
    repmlp_compile_stats l;
    const rm_gemm_kernel_variant *v = plan(ctx, &c, &l);
    assert_int_equal(v->algorithm, RM_GEMM_ALGORITHM_REGISTER);
    assert_int_equal(l.lanes_active, 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fills_half_a_subgroup),
        cmocka_unit_test(short_k_takes_shorter_tiles),
        cmocka_unit_test(cpu_widths_keep_the_register_tile),
        cmocka_unit_test(forced_tile_stays),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
