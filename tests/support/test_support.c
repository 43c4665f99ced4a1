#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"
#include "core/context.h"
#include "exec/session.h"
#include "ops/gemm_core.h"
#include "ops/ops.h"
#include "io/file_map.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/arch_registry.h"

void ts_log(void *user, repmlp_log_level level, const char *message) {
    (void)user;
    if (level >= REPMLP_LOG_WARNING) fprintf(stderr, "[repmlp] %s\n", message);
}

const char *ts_test_device(void) {
    const char *d = getenv("REPMLP_TEST_DEVICE");
    return d && *d ? d : NULL;
}

uint32_t ts_context_flags(void) {
    const char *v = getenv("REPMLP_TEST_VALIDATION");
    return v && strcmp(v, "1") == 0 ? REPMLP_CONTEXT_VALIDATION : 0;
}

uint32_t ts_validation_messages;
size_t ts_cases;
static size_t skipped_cases, skip_notes;

void ts_skip_note(const char *fmt, ...) {
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    print_message("SKIPPED: %s\n", reason);
    skip_notes++;
}

void ts_skip_case(void) {
    skipped_cases++;
}

int ts_exit_code(int failed) {
    if (failed) return failed;
    /* ts_cases is 0 when the groups were not run through ts_run_group: any skipped case then
     * skips the program. */
    if (skipped_cases && skipped_cases >= ts_cases) {
        print_message("SKIPPED: nothing ran: all %zu cases were skipped (reasons above)\n",
                      skipped_cases);
        return TS_SKIP_CODE;
    }
    if (skip_notes)
        print_message("passed with %zu skip(s) (SKIPPED lines above); %zu of %zu cases skipped "
                      "whole\n",
                      skip_notes, skipped_cases, ts_cases);
    return 0;
}

repmlp_context_desc ts_context_desc(void) {
    repmlp_context_desc desc = {.size = sizeof(repmlp_context_desc),
                                .device = ts_test_device(),
                                .flags = ts_context_flags(),
                                .log = ts_log,
                                .validation_counter = &ts_validation_messages};
    return desc;
}

void ts_check_validation(void) {
    if (ts_validation_messages)
        fail_msg("the validation layer reported %u messages in this test program (see stderr)",
                 ts_validation_messages);
}

repmlp_context *ts_context(void) {
    const char *icd = getenv("REPMLP_TEST_ICD");
    if (icd && access(icd, R_OK) != 0)
        fail_msg("Vulkan driver manifest %s is missing: install the driver (see README)", icd);
    repmlp_context_desc desc = ts_context_desc();
    repmlp_context *ctx = NULL;
    repmlp_status st = repmlp_context_create(&desc, &ctx);
    if (st != REPMLP_OK)
        fail_msg("context creation failed: %s: %s", repmlp_status_name(st), repmlp_last_error());
    repmlp_device_info info;
    assert_int_equal(repmlp_context_device(ctx, &info), REPMLP_OK);
    print_message("device: %s (validation %s)\n", info.name,
                  desc.flags & REPMLP_CONTEXT_VALIDATION ? "on" : "off");
    return ctx;
}

void ts_context_done(repmlp_context *ctx) {
    repmlp_context_destroy(ctx);
    ts_check_validation(); /* after the device is gone: leak reports come from vkDestroyDevice */
}

void ts_share_operand_path(void) {
    const char *set = getenv("REPMLP_OPERAND_PATH");
    if (set && *set) return;
    repmlp_context *ctx = ts_context();
    rm_operand_path path;
    if (rm_operand_path_get(ctx, &path) != REPMLP_OK)
        fail_msg("operand path: %s", repmlp_last_error());
    const char *name = path == RM_OPERAND_TEXEL ? "texel" : "storage";
    print_message("operand path measured: %s (exported as REPMLP_OPERAND_PATH)\n", name);
    setenv("REPMLP_OPERAND_PATH", name, 1);
    ts_context_done(ctx);
}

ts_rng ts_rng_make(uint64_t seed) {
    ts_rng r = {seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull};
    if (!r.state) r.state = 1;
    return r;
}

float ts_uniform(ts_rng *r, float lo, float hi) {
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    uint64_t v = r->state * 0x2545F4914F6CDD1Dull;
    return lo + (hi - lo) * (float)((double)(v >> 11) / 9007199254740992.0);
}

void ts_fill(ts_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = ts_uniform(r, lo, hi);
}

repmlp_status ts_fuse_file(const char *arch, const void *config, const char *train_path,
                           const char *out_path) {
    const rm_model_arch *a = rm_model_arch_find(arch);
    if (!a) fail_msg("no architecture %s in the registry", arch);
    return rm_fuse_to_file(a->name, a->to_json(config), a->fuse, config, train_path, out_path);
}

struct cJSON *ts_json_file(const char *path) {
    rm_file_map map;
    cJSON *json = NULL;
    repmlp_status s = rm_file_map_open(path, &map);
    if (s == REPMLP_OK) {
        s = rm_json_parse((const char *)map.data, map.size, path, &json);
        rm_file_map_close(&map);
    }
    if (s != REPMLP_OK) fail_msg("%s", repmlp_last_error());
    return json;
}

double *ts_to_double(const float *x, size_t n) {
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

double ts_max_rel_error(const float *got, const double *want, size_t n) {
    ref_comparison c = ref_compare_f32(got, want, n);
    if (c.nonfinite)
        print_message("%zu of %zu elements are NaN/Inf (first: element %zu = %g, reference %g)\n",
                      c.nonfinite, n, c.first_nonfinite, (double)got[c.first_nonfinite],
                      want[c.first_nonfinite]);
    return c.rel;
}

rm_buffer ts_buffer_from(repmlp_context *ctx, const float *host, size_t n) {
    rm_buffer b;
    repmlp_status st = rm_buffer_create(ctx, n * sizeof(float), RM_BUFFER_ACTIVATIONS, &b);
    if (st != REPMLP_OK) fail_msg("buffer: %s", repmlp_last_error());
    if (host) {
        st = rm_buffer_upload(ctx, &b, 0, host, n * sizeof(float));
    } else {
        float *zeros = calloc(n, sizeof(float));
        st = rm_buffer_upload(ctx, &b, 0, zeros, n * sizeof(float));
        free(zeros);
    }
    if (st != REPMLP_OK) fail_msg("upload: %s", repmlp_last_error());
    return b;
}

const uint32_t ts_tiles[TS_TILE_COUNT] = {0, 1, 4, 8};

double ts_run_compare(repmlp_context *ctx, rm_dispatch *d, const rm_binding *bindings,
                      rm_buffer *out, float *y, const double *want, size_t n, double *ms) {
    ts_poison(ctx, out, n);
    double t = ts_run1(ctx, d, bindings);
    if (ms) *ms = t;
    ts_buffer_read(ctx, out, y, n);
    return ts_max_rel_error(y, want, n);
}

void ts_poison(repmlp_context *ctx, rm_buffer *b, size_t n) {
    float *nan = malloc(n * sizeof *nan);
    for (size_t i = 0; i < n; i++) nan[i] = NAN;
    if (rm_buffer_upload(ctx, b, 0, nan, n * sizeof *nan) != REPMLP_OK)
        fail_msg("upload: %s", repmlp_last_error());
    free(nan);
}

void ts_session_poison(repmlp_session *s) {
    /* The device output (through a staging copy when it is not mapped), its read-back copy and
     * every intermediate: whatever a run does not write stays NaN. */
    ts_poison(s->ctx, &s->output, s->output.size / sizeof(float));
    if (s->stage_out.buffer) ts_poison(s->ctx, &s->stage_out, s->stage_out.size / sizeof(float));
    if (s->arena.buffer) ts_poison(s->ctx, &s->arena, s->arena.size / sizeof(float));
    if (s->topk_buf.buffer) ts_poison(s->ctx, &s->topk_buf, s->topk_buf.size / sizeof(float));
    if (s->stage_topk.buffer) ts_poison(s->ctx, &s->stage_topk, s->stage_topk.size / sizeof(float));
}

repmlp_status ts_session_run(repmlp_session *s, const float *input, size_t input_count,
                             float *output, size_t output_count) {
    ts_session_poison(s);
    for (size_t i = 0; i < output_count; i++) output[i] = NAN;
    return repmlp_session_run(s, input, input_count, output, output_count);
}

rm_buffer ts_weight_buffer(repmlp_context *ctx, const float *wt, const float *bias, uint32_t groups,
                           uint32_t NO, uint32_t K) {
    return ts_weight_buffer_runs(ctx, wt, bias, groups, NO, K, 0);
}

rm_buffer ts_weight_buffer_runs(repmlp_context *ctx, const float *wt, const float *bias,
                                uint32_t groups, uint32_t NO, uint32_t K, uint32_t run) {
    uint64_t n = rm_gemm_packed_count(groups, NO, K, run, false);
    float *packed = malloc(n * sizeof *packed);
    if (!n || !packed) fail_msg("ts_weight_buffer: %u x (%u, %u) cannot be packed", groups, NO, K);
    rm_gemm_pack(wt, bias, groups, NO, K, run, packed);
    rm_buffer b = ts_buffer_from(ctx, packed, n);
    free(packed);
    return b;
}

void ts_gemm_bindings(repmlp_context *ctx, rm_dispatch *d, const rm_binding *operands,
                      rm_binding *bindings) {
    repmlp_status st = rm_gemm_core_bindings(ctx, d, "test", operands, bindings);
    if (st != REPMLP_OK) fail_msg("gemm bindings: %s", repmlp_last_error());
}

void ts_buffer_read(repmlp_context *ctx, const rm_buffer *b, float *host, size_t n) {
    repmlp_status st = rm_buffer_download(ctx, b, 0, host, n * sizeof(float));
    if (st != REPMLP_OK) fail_msg("download: %s", repmlp_last_error());
}

rm_binding ts_bind(const rm_buffer *b) {
    rm_binding r = {b->buffer, 0, b->size};
    return r;
}

double ts_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double ts_run(repmlp_context *ctx, rm_dispatch *dispatches, const rm_binding *const *bindings,
              size_t count) {
    VkDescriptorPool pool;
    uint32_t sets = 0;
    for (size_t i = 0; i < count; i++) sets += rm_dispatch_sets(&dispatches[i]);
    assert_int_equal(rm_descriptor_pool_create(ctx, sets, &pool), REPMLP_OK);
    for (size_t i = 0; i < count; i++) {
        repmlp_status st = rm_dispatch_bind(ctx, pool, &dispatches[i], bindings[i]);
        if (st != REPMLP_OK) fail_msg("bind: %s", repmlp_last_error());
    }
    VkCommandBuffer cmd;
    assert_int_equal(rm_oneoff_begin(ctx, &cmd), REPMLP_OK);
    for (size_t i = 0; i < count; i++) {
        if (i) rm_barrier_compute(ctx, cmd);
        rm_dispatch_record(ctx, cmd, &dispatches[i], i ? &dispatches[i - 1] : NULL);
    }
    rm_barrier_to_host(ctx, cmd);
    double t0 = ts_now_ms();
    repmlp_status st = rm_oneoff_submit(ctx, cmd);
    double t1 = ts_now_ms();
    if (st != REPMLP_OK) fail_msg("submit: %s", repmlp_last_error());
    for (size_t i = 0; i < count; i++) rm_dispatch_unbind(ctx, &dispatches[i]);
    rm_descriptor_pool_destroy(ctx, pool);
    return t1 - t0;
}

int ts_system(const char *command, char *out, size_t size) {
    char *full = malloc(strlen(command) + 8);
    sprintf(full, "%s 2>&1", command);
    FILE *p = popen(full, "r");
    free(full);
    if (!p) return -1;
    size_t n = 0;
    if (size) out[0] = 0;
    int c;
    while ((c = fgetc(p)) != EOF)
        if (n + 1 < size) {
            out[n++] = (char)c;
            out[n] = 0;
        }
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const char *ts_tool(const char *name) {
    static char slots[4][1024];
    static int next;
    char *buf = slots[next++ % 4];
    snprintf(buf, sizeof slots[0], "%s%s%s/bin/%s", REPMLP_TOOL_EMULATOR,
             *REPMLP_TOOL_EMULATOR ? " " : "", REPMLP_BINARY_DIR, name);
    return buf;
}

static void *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    char *text = malloc(1 << 16);
    *n = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    text[*n] = 0;
    return text;
}

static void read_float_tensor(const char *path, const char *name, void *out, bool f64,
                              size_t *count, uint32_t *batch) {
    rm_safetensors *st;
    if (rm_safetensors_open(path, &st) != REPMLP_OK) fail_msg("%s", repmlp_last_error());
    const rm_st_tensor *t = rm_safetensors_find(st, name);
    if (!t) fail_msg("%s: no tensor '%s'", path, name);
    *count = t->count;
    if (batch) *batch = (uint32_t)t->shape[0];
    void *data = malloc(t->count * (f64 ? sizeof(double) : sizeof(float)));
    bool ok = f64 ? rm_st_tensor_to_f64(t, data) : rm_st_tensor_to_f32(t, data);
    assert_true(ok);
    *(void **)out = data;
    rm_safetensors_close(st);
}

void ts_block_fixture_load(ts_block_fixture *f, const char *name) {
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/block_v1/%s", REPMLP_SOURCE_DIR, name);
    snprintf(path, sizeof path, "%s/config.json", dir);
    size_t n;
    char *text = read_all(path, &n);
    cJSON *json;
    assert_int_equal(rm_json_parse(text, n, "config", &json), REPMLP_OK);
    free(text);
    rm_block_v1_config cfg;
    assert_int_equal(rm_block_v1_config_from_json(json, "config", &cfg), REPMLP_OK);
    cJSON_Delete(json);
    snprintf(f->fused_path, sizeof f->fused_path, "%s/tmp-%s-%d.fused.safetensors",
             REPMLP_BINARY_DIR, name, (int)getpid());
    snprintf(path, sizeof path, "%s/train.safetensors", dir);
    if (ts_fuse_file(RM_ARCH_BLOCK_V1, &cfg, path, f->fused_path) != REPMLP_OK)
        fail_msg("fusing %s: %s", path, repmlp_last_error());
    snprintf(path, sizeof path, "%s/input.safetensors", dir);
    read_float_tensor(path, "input", &f->input, false, &f->input_count, &f->batch);
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    read_float_tensor(path, "output", &f->expected, true, &f->output_count, NULL);
}

void ts_block_fixture_free(ts_block_fixture *f) {
    remove(f->fused_path);
    free(f->input);
    free(f->expected);
    memset(f, 0, sizeof *f);
}

void ts_destroy_buffers(repmlp_context *ctx, rm_buffer *first, ...) {
    va_list ap;
    va_start(ap, first);
    for (rm_buffer *b = first; b; b = va_arg(ap, rm_buffer *)) rm_buffer_destroy(ctx, b);
    va_end(ap);
}

double ts_run1(repmlp_context *ctx, rm_dispatch *dispatch, const rm_binding *bindings) {
    const rm_binding *list[1] = {bindings};
    return ts_run(ctx, dispatch, list, 1);
}

repmlp_context *ts_ctx;

int ts_group_context_open(void **state) {
    (void)state;
    ts_ctx = ts_context();
    return 0;
}

int ts_group_context_close(void **state) {
    (void)state;
    ts_context_done(ts_ctx);
    ts_ctx = NULL;
    return 0;
}

ts_block_fixture ts_fx;

int ts_group_fixture_open(void **state) {
    (void)state;
    ts_block_fixture_load(&ts_fx, "gp_g4_k135");
    return 0;
}

int ts_group_fixture_close(void **state) {
    (void)state;
    ts_block_fixture_free(&ts_fx);
    return 0;
}

uint32_t ts_memory_type(repmlp_context *ctx, uint32_t allowed, uint32_t flags) {
    for (uint32_t i = 0; i < ctx->memory.memoryTypeCount; i++)
        if (((allowed >> i) & 1) && (ctx->memory.memoryTypes[i].propertyFlags & flags) == flags)
            return i;
    fail_msg("no memory type with flags 0x%x among 0x%x", flags, allowed);
    return 0;
}

ts_app_buffer ts_app_buffer_create(repmlp_context *ctx, VkDeviceSize size) {
    ts_app_buffer b = {.size = size};
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                               .size = size,
                               .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    assert_int_equal(ctx->vk.vkCreateBuffer(ctx->device, &info, NULL, &b.buffer), VK_SUCCESS);
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, b.buffer, &req);
    /* Vulkan guarantees a host-visible, coherent type for every buffer. */
    VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                  .allocationSize = req.size,
                                  .memoryTypeIndex =
                                      ts_memory_type(ctx, req.memoryTypeBits,
                                                     VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)};
    assert_int_equal(ctx->vk.vkAllocateMemory(ctx->device, &alloc, NULL, &b.memory), VK_SUCCESS);
    assert_int_equal(ctx->vk.vkBindBufferMemory(ctx->device, b.buffer, b.memory, 0), VK_SUCCESS);
    assert_int_equal(ctx->vk.vkMapMemory(ctx->device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped),
                     VK_SUCCESS);
    return b;
}

void ts_app_buffer_destroy(repmlp_context *ctx, ts_app_buffer *b) {
    ctx->vk.vkDestroyBuffer(ctx->device, b->buffer, NULL);
    ctx->vk.vkFreeMemory(ctx->device, b->memory, NULL);
    memset(b, 0, sizeof *b);
}

void ts_app_buffer_poison(ts_app_buffer *b) {
    float *f = b->mapped;
    for (size_t i = 0; i < b->size / sizeof(float); i++) f[i] = NAN;
}

void ts_fuse_digits(const char *name, char *scratch, char *fused, size_t size) {
    const char *driver = ts_test_device();
    char cmd[4096], out[4096];
    int n = snprintf(scratch, size, "%s/tmp-%s-%s", REPMLP_BINARY_DIR, name,
                     driver ? driver : "default");
    int m = n < 0 ? -1 : snprintf(fused, size, "%s/digits.fused.safetensors", scratch);
    if (n < 0 || m < 0 || (size_t)n >= size || (size_t)m >= size) fail_msg("path too long");
    mkdir(scratch, 0755);
    const char *digits = REPMLP_SOURCE_DIR "/examples/digits";
    snprintf(
        cmd, sizeof cmd,
        "%s --arch RepMLPNet --config @%s/config.json --metadata preprocess=@%s/preprocess.json "
        "%s/train.safetensors %s",
        ts_tool("repmlp-fuse"), digits, digits, digits, fused);
    int rc = ts_system(cmd, out, sizeof out);
    if (rc != 0) fail_msg("repmlp-fuse exited %d:\n%s", rc, out);
}
