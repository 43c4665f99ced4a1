/* Shared helpers for the cmocka tests: the device under test, random data, comparisons. */
#ifndef RM_TEST_SUPPORT_H
#define RM_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "repmlp.h"
#include "core/buffer.h"
#include "core/dispatch.h"

/* The context for device tests. The driver comes from the environment that ctest sets
 * (VK_ICD_FILENAMES, REPMLP_TEST_DEVICE = expected name substring, REPMLP_TEST_VALIDATION);
 * a missing driver or validation layer fails the test, it never skips. Prints the device. */
repmlp_context *ts_context(void);
/* Destroys the context, then fails the test if the validation layer reported anything, leak
 * reports made while the device was destroyed included. */
void ts_context_done(repmlp_context *ctx);
/* The device this run tests (REPMLP_TEST_DEVICE, a name substring), or NULL for the best one
 * (unset or empty). */
const char *ts_test_device(void);
/* Flags for contexts that a test creates itself (validation when the run asks for it). */
uint32_t ts_context_flags(void);
/* The description ts_context uses: the run's device and flags, ts_log, and the process-wide
 * validation counter below. Tests that create contexts themselves start from it. */
repmlp_context_desc ts_context_desc(void);
/* Validation warnings and errors of every context made from ts_context_desc, counted until
 * their destruction ends; ts_check_validation fails the test when it is not zero. */
extern uint32_t ts_validation_messages;
void ts_check_validation(void);
void ts_log(void *user, repmlp_log_level level, const char *message);

/* Measures the GEMM operand path once on the run's device, as the library does on every new
 * context, and exports the choice as REPMLP_OPERAND_PATH (unless already set), so that the
 * contexts this program and its repmlp-run children make take that path without measuring
 * again: a measurement costs two pipeline compiles, ~0.4 s per context on SwiftShader. For the
 * set-up of tests that run many contexts (test_limits checks the measurement itself). */
void ts_share_operand_path(void);

/* Skips are never silent: ts_skip_note prints "SKIPPED: <reason>" (scripts/test.sh lists these
 * lines at the end of the run) for a part of a case that cannot run here; ts_skip also ends
 * the current case as skipped. A program reports skipped (exits with TS_SKIP_CODE, which ctest
 * shows as "Skipped") only when nothing ran: every case of its groups was skipped whole. A
 * program where something ran and nothing failed passes, its skips listed. */
#define TS_SKIP_CODE 77
void ts_skip_note(const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(1, 2);
void ts_skip_case(void); /* counts the case as skipped; use ts_skip */
#define ts_skip(...)                                                                               \
    do {                                                                                           \
        ts_skip_note(__VA_ARGS__);                                                                 \
        ts_skip_case();                                                                            \
        skip();                                                                                    \
    } while (0)
/* cmocka_run_group_tests that also counts the group's cases for ts_exit_code. */
#define ts_run_group(tests, setup, teardown)                                                       \
    (ts_cases += sizeof(tests) / sizeof((tests)[0]), cmocka_run_group_tests(tests, setup, teardown))
extern size_t ts_cases;
/* A test program's exit status from cmocka's failure count: the failures, else TS_SKIP_CODE
 * when every case counted by ts_run_group was skipped (saying so), else 0. */
int ts_exit_code(int failed);

/* snprintf into a char array that fails the test instead of silently truncating a path or
 * command. */
#define TS_FORMAT(buf, ...)                                                                        \
    do {                                                                                           \
        int n_ = snprintf(buf, sizeof buf, __VA_ARGS__);                                           \
        if (n_ < 0 || (size_t)n_ >= sizeof buf) fail_msg("path or command too long");              \
    } while (0)

/* Deterministic pseudo-random numbers (xorshift64*). */
typedef struct ts_rng {
    uint64_t state;
} ts_rng;
ts_rng ts_rng_make(uint64_t seed);
float ts_uniform(ts_rng *r, float lo, float hi);
void ts_fill(ts_rng *r, float *x, size_t n, float lo, float hi);

/* The JSON file at path, parsed (messages name the path); fails the test on an error. Free
 * with cJSON_Delete. */
struct cJSON *ts_json_file(const char *path);
/* A malloc'ed double copy of n floats. */
double *ts_to_double(const float *x, size_t n);
/* ref_compare_f32's rel: max |got - want| / max |want|, +Inf (and a message naming the first
 * element) when any value is NaN or Inf. */
double ts_max_rel_error(const float *got, const double *want, size_t n);

/* Device buffer holding n floats copied from host (host may be NULL: zero-filled). */
rm_buffer ts_buffer_from(repmlp_context *ctx, const float *host, size_t n);
/* Fills n floats of b with NaN, so that an element a kernel fails to write cannot pass as the
 * previous run's result. */
void ts_poison(repmlp_context *ctx, rm_buffer *b, size_t n);
/* Poisons a session's device output, its staging copy and its intermediates with NaN, so a
 * run that leaves anything unwritten cannot pass on the previous run's result. */
void ts_session_poison(repmlp_session *s);
/* repmlp_session_run after ts_session_poison, with the host output NaN-filled too. */
repmlp_status ts_session_run(repmlp_session *s, const float *input, size_t input_count,
                             float *output, size_t output_count);
/* Poisons out (n floats), runs one bound dispatch, reads out into y and returns its max
 * relative error against want (ts_max_rel_error); *ms (if non-NULL) gets the run time. */
double ts_run_compare(repmlp_context *ctx, rm_dispatch *d, const rm_binding *bindings,
                      rm_buffer *out, float *y, const double *want, size_t n, double *ms);
/* The GEMM-core row tiles every kernel test runs with (0 = the runtime's choice). */
#define TS_TILE_COUNT 4
extern const uint32_t ts_tiles[TS_TILE_COUNT];
/* A GEMM-core weight block buffer: wt (groups*NO, K) row-major and its bias (groups*NO, or
 * NULL), packed as the kernels read them. */
rm_buffer ts_weight_buffer(repmlp_context *ctx, const float *wt, const float *bias, uint32_t groups,
                           uint32_t NO, uint32_t K);
/* The same with the run sums of an addend run (run 0: none). */
rm_buffer ts_weight_buffer_runs(repmlp_context *ctx, const float *wt, const float *bias,
                                uint32_t groups, uint32_t NO, uint32_t K, uint32_t run);
/* A prepared GEMM-core dispatch's bindings from its RM_GEMM_OPERANDS operands
 * (rm_gemm_core_bindings); fails the test on an error. */
void ts_gemm_bindings(repmlp_context *ctx, rm_dispatch *d, const rm_binding *operands,
                      rm_binding *bindings);
/* A buffer made as an application makes one for repmlp_session_bind_buffers: exactly the usage
 * repmlp/vulkan.h documents (STORAGE_BUFFER, nothing else), in host-visible coherent memory
 * that stays mapped so the test can fill and read it. */
typedef struct ts_app_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped;
} ts_app_buffer;
/* The first memory type of the allowed set (a VkMemoryRequirements.memoryTypeBits) having
 * all of `flags` (VkMemoryPropertyFlags); fails the test when there is none. */
uint32_t ts_memory_type(repmlp_context *ctx, uint32_t allowed, uint32_t flags);
ts_app_buffer ts_app_buffer_create(repmlp_context *ctx, VkDeviceSize size);
void ts_app_buffer_destroy(repmlp_context *ctx, ts_app_buffer *b);
void ts_app_buffer_poison(ts_app_buffer *b); /* all NaN */
void ts_buffer_read(repmlp_context *ctx, const rm_buffer *b, float *host, size_t n);
rm_binding ts_bind(const rm_buffer *b);

/* Destroys each buffer of the NULL-terminated list. */
void ts_destroy_buffers(repmlp_context *ctx, rm_buffer *first, ...);

/* ts_run for a single dispatch. */
double ts_run1(repmlp_context *ctx, rm_dispatch *dispatch, const rm_binding *bindings);

/* cmocka group set-up/tear-down: ts_ctx is the device under test for the whole group. */
extern repmlp_context *ts_ctx;
int ts_group_context_open(void **state);
int ts_group_context_close(void **state);

/* Binds the dispatches to the given bindings (bindings[i] is dispatch i's array), records them
 * with barriers in between, runs them once and returns the device time in milliseconds. */
double ts_run(repmlp_context *ctx, rm_dispatch *dispatches, const rm_binding *const *bindings,
              size_t count);

double ts_now_ms(void);

/* Fuses the training file train_path of architecture `arch` (an RM_ARCH_* name) with its
 * validated config struct into out_path, as repmlp-fuse does: through the architecture's
 * registry row (model/arch_registry.h) and rm_fuse_to_file. */
repmlp_status ts_fuse_file(const char *arch, const void *config, const char *train_path,
                           const char *out_path);

/* A RepMLP v1 block fixture (tests/fixtures/block_v1/<name>) fused into a scratch file, with
 * its input (F32) and PyTorch's float64 output. */
typedef struct ts_block_fixture {
    char fused_path[1024];
    float *input;
    double *expected;
    size_t input_count, output_count;
    uint32_t batch;
} ts_block_fixture;
void ts_block_fixture_load(ts_block_fixture *f, const char *name);
void ts_block_fixture_free(ts_block_fixture *f); /* also removes the fused file */

/* Tolerance for runs of ts_fx on the device: ~10x the worst error measured on both drivers
 * (1.03e-7, 2026-11-30). */
#define TS_FX_TOLERANCE 1e-6

/* cmocka group set-up/tear-down: ts_fx is block fixture gp_g4_k135 for the whole group. */
extern ts_block_fixture ts_fx;
int ts_group_fixture_open(void **state);
int ts_group_fixture_close(void **state);

/* Runs a shell command line, capturing stdout and stderr together into out (NUL-terminated,
 * truncated to size); returns the exit status (-1 if it did not exit normally). */
int ts_system(const char *command, char *out, size_t size);
/* Makes REPMLP_BINARY_DIR/tmp-<name>-<this run's device> (scratch, `size` bytes) and fuses the
 * shipped digits model there with its preprocessing (the real repmlp-fuse) into `fused`. */
void ts_fuse_digits(const char *name, char *scratch, char *fused, size_t size);
/* Command running a built tool: REPMLP_BINARY_DIR "/bin/" name, after the emulator of a
 * cross build (REPMLP_TOOL_EMULATOR) if any; for ts_system (static storage, 4 rotating slots). */
const char *ts_tool(const char *name);

#endif
