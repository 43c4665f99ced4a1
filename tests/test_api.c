/* The public API's rules for growing without breaking applications (docs/API.md): structs the
 * caller fills carry their size, and the library reads no byte past it (an application built
 * against an older, smaller layout gets the defaults of the fields it does not have); a size
 * left unset is refused; count queries follow Vulkan (REPMLP_INCOMPLETE); both device caches
 * save and load through one API, to files and to memory, as the same bytes. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/context.h"
#include "repmlp/vulkan.h"

/* repmlp_context_desc as the first published layout declared it: everything up to
 * vk_allocator, before tune_budget_ms was appended. An application compiled against that
 * header passes sizeof of this. */
typedef struct old_context_desc {
    uint32_t size;
    repmlp_context_flags flags;
    const char *device;
    repmlp_log_fn log;
    void *log_user;
    uint64_t timeout_ns;
    uint32_t *validation_counter;
    uint64_t device_memory_limit;
    const struct VkAllocationCallbacks *vk_allocator;
} old_context_desc;

/* The old struct at the start of a buffer whose bytes past it are garbage (all ones), as the
 * next variable on an old application's stack might be: the library must not read them. */
typedef union old_desc_buffer {
    old_context_desc desc;
    unsigned char bytes[sizeof(repmlp_context_desc) + 64];
} old_desc_buffer;

static old_desc_buffer old_desc(void) {
    repmlp_context_desc now = ts_context_desc();
    old_desc_buffer b;
    memset(b.bytes, 0xff, sizeof b.bytes);
    b.desc = (old_context_desc){.size = sizeof(old_context_desc),
                                .flags = now.flags,
                                .device = now.device,
                                .log = now.log,
                                .validation_counter = now.validation_counter,
                                .timeout_ns = 123456789};
    return b;
}

static void context_desc_old_layout(void **state) {
    (void)state;
    assert_true(sizeof(old_context_desc) < sizeof(repmlp_context_desc));
    old_desc_buffer b = old_desc();
    repmlp_context *ctx = NULL;
    repmlp_status st = repmlp_context_create((const repmlp_context_desc *)&b.desc, &ctx);
    if (st != REPMLP_OK) fail_msg("old layout refused: %s", repmlp_last_error());
    /* The fields it has are taken; the one it lacks has its default (0: 30 s), not the
     * garbage that follows the old struct. */
    assert_int_equal(ctx->timeout_ns, 123456789);
    assert_int_equal(ctx->flags, b.desc.flags);
    assert_ptr_equal(ctx->validation_counter, &ts_validation_messages);
    assert_int_equal(ctx->tune_budget_ms, 0);
    ts_context_done(ctx);
}

/* An application built against a newer header passes a larger size: the fields this library
 * does not know are not read. */
static void context_desc_newer_layout(void **state) {
    (void)state;
    unsigned char bytes[sizeof(repmlp_context_desc) + 32];
    memset(bytes, 0xff, sizeof bytes);
    repmlp_context_desc desc = ts_context_desc();
    desc.size = (uint32_t)sizeof bytes;
    memcpy(bytes, &desc, sizeof desc);
    repmlp_context *ctx = NULL;
    assert_int_equal(repmlp_context_create((const repmlp_context_desc *)bytes, &ctx), REPMLP_OK);
    ts_context_done(ctx);
}

static void expect_refused(repmlp_status st, const char *name) {
    assert_int_equal(st, REPMLP_ERROR_INVALID_ARGUMENT);
    char want[64];
    snprintf(want, sizeof want, "%s.size is 0", name);
    if (!strstr(repmlp_last_error(), want))
        fail_msg("'%s' does not say '%s'", repmlp_last_error(), want);
}

/* Every caller-filled struct: a size left at 0 (a struct not started from its initializer) is
 * refused with a message naming it, before anything is made. */
static void unset_size_refused(void **state) {
    (void)state;
    repmlp_context *ctx = (repmlp_context *)0x1;
    repmlp_context_desc desc = ts_context_desc();
    desc.size = 0;
    expect_refused(repmlp_context_create(&desc, &ctx), "repmlp_context_desc");
    assert_null(ctx);
    /* One below the first layout is refused too. */
    desc.size = (uint32_t)offsetof(repmlp_context_desc, vk_allocator);
    assert_int_equal(repmlp_context_create(&desc, &ctx), REPMLP_ERROR_INVALID_ARGUMENT);

    repmlp_vulkan_import im = {.instance = (VkInstance)(uintptr_t)1,
                               .physical_device = (VkPhysicalDevice)(uintptr_t)1,
                               .device = (VkDevice)(uintptr_t)1,
                               .queue = (VkQueue)(uintptr_t)1};
    expect_refused(repmlp_context_import(&im, NULL, &ctx), "repmlp_vulkan_import");
    im.size = sizeof im;
    desc.size = 0;
    expect_refused(repmlp_context_import(&im, &desc, &ctx), "repmlp_context_desc");

    repmlp_fuse_desc fuse = {.arch = REPMLP_ARCH_BLOCK_V1};
    void *fused = NULL;
    size_t fused_size = 0;
    expect_refused(repmlp_fuse_memory(&fuse, "", 0, &fused, &fused_size), "repmlp_fuse_desc");

    repmlp_allocator allocator = {.malloc = NULL};
    expect_refused(repmlp_allocator_set(&allocator), "repmlp_allocator");

    /* The session's own structs, on a real session. */
    ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_session *s = NULL;
    repmlp_session_desc sd = {.batch = 1};
    expect_refused(repmlp_session_create_desc(m, &sd, &s), "repmlp_session_desc");
    assert_null(s);
    assert_int_equal(repmlp_session_create(m, 1, &s), REPMLP_OK);
    repmlp_submit_info submit = {.wait_count = 0};
    expect_refused(repmlp_session_submit(s, &submit), "repmlp_submit_info");
    repmlp_image_input image = {.width = 1, .height = 1};
    expect_refused(repmlp_session_bind_image(s, &image), "repmlp_image_input");
    repmlp_completion done = {.value = 1};
    expect_refused(repmlp_session_record_tracked(s, (VkCommandBuffer)(uintptr_t)1, 0, 1, &done),
                   "repmlp_completion");
    /* Still usable: nothing was bound or submitted. */
    float *y = malloc(ts_fx.output_count / ts_fx.batch * sizeof *y);
    assert_int_equal(repmlp_session_run(s, ts_fx.input, ts_fx.input_count / ts_fx.batch, y,
                                        ts_fx.output_count / ts_fx.batch),
                     REPMLP_OK);
    free(y);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

/* The initializers set the size the application was compiled with, and zero elsewhere. */
static void initializers(void **state) {
    (void)state;
    repmlp_context_desc c = REPMLP_CONTEXT_DESC_INIT;
    assert_int_equal(c.size, sizeof c);
    assert_int_equal(c.flags, 0);
    assert_null(c.device);
    repmlp_fuse_desc f = REPMLP_FUSE_DESC_INIT;
    assert_int_equal(f.size, sizeof f);
    repmlp_vulkan_import v = REPMLP_VULKAN_IMPORT_INIT;
    assert_int_equal(v.size, sizeof v);
    repmlp_session_desc s = REPMLP_SESSION_DESC_INIT;
    assert_int_equal(s.size, sizeof s);
    repmlp_submit_info i = REPMLP_SUBMIT_INFO_INIT;
    assert_int_equal(i.size, sizeof i);
    repmlp_image_input im = REPMLP_IMAGE_INPUT_INIT;
    assert_int_equal(im.size, sizeof im);
    repmlp_completion d = REPMLP_COMPLETION_INIT;
    assert_int_equal(d.size, sizeof d);
    repmlp_allocator a = REPMLP_ALLOCATOR_INIT;
    assert_int_equal(a.size, sizeof a);
}

/* As vkEnumeratePhysicalDevices: NULL asks for the number; a short array is filled as far as
 * it goes and the call says REPMLP_INCOMPLETE, a success. */
static void count_query(void **state) {
    (void)state;
    uint32_t count = 7;
    assert_int_equal(repmlp_device_list(NULL, &count), REPMLP_OK);
    assert_true(count >= 1);
    repmlp_device_info infos[16];
    memset(infos, 0xee, sizeof infos);
    uint32_t none = 0;
    assert_int_equal(repmlp_device_list(infos, &none), REPMLP_INCOMPLETE);
    assert_int_equal(none, 0);
    assert_int_equal(infos[0].index, 0xeeeeeeeeu); /* nothing written */
    uint32_t short_count = count - 1;
    assert_int_equal(repmlp_device_list(infos, &short_count), REPMLP_INCOMPLETE);
    assert_int_equal(short_count, count - 1);
    uint32_t all = 16;
    assert_int_equal(repmlp_device_list(infos, &all), REPMLP_OK);
    assert_int_equal(all, count);
    assert_true(REPMLP_INCOMPLETE > 0);
    assert_string_equal(repmlp_status_name(REPMLP_INCOMPLETE), "REPMLP_INCOMPLETE");
}

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(n > 0 ? (size_t)n : 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* Each cache kind through the one API: the file holds exactly the memory form's bytes, each
 * loads into a fresh context on the same device, and a bad kind or a short buffer is
 * refused. */
static void caches(void **state) {
    (void)state;
    static const struct {
        repmlp_cache_kind kind;
        const char magic[9];
    } kinds[] = {{REPMLP_CACHE_PIPELINES, "RMVKPC01"}, {REPMLP_CACHE_TUNING, "RMVKTU01"}};
    repmlp_context *ctx = ts_context();
    repmlp_model *m;
    assert_int_equal(repmlp_model_load(ctx, ts_fx.fused_path, &m), REPMLP_OK);
    repmlp_session *s;
    assert_int_equal(repmlp_session_create(m, 1, &s), REPMLP_OK); /* pipelines to cache */
    char path[1200];
    snprintf(path, sizeof path, "%s/tmp-test_api-cache-%d", REPMLP_BINARY_DIR, (int)getpid());
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = 0;
        assert_int_equal(repmlp_context_save_cache_memory(ctx, kinds[k].kind, NULL, &n), REPMLP_OK);
        assert_true(n > 8);
        unsigned char *mem = malloc(n);
        size_t small = n - 1;
        assert_int_equal(repmlp_context_save_cache_memory(ctx, kinds[k].kind, mem, &small),
                         REPMLP_ERROR_TOO_LARGE);
        assert_int_equal(small, n);
        assert_int_equal(repmlp_context_save_cache_memory(ctx, kinds[k].kind, mem, &n), REPMLP_OK);
        assert_memory_equal(mem, kinds[k].magic, 8);
        assert_int_equal(repmlp_context_save_cache(ctx, kinds[k].kind, path), REPMLP_OK);
        size_t file_size;
        unsigned char *file = read_file(path, &file_size);
        assert_int_equal(file_size, n);
        assert_memory_equal(file, mem, n);
        free(file);

        repmlp_context *fresh = ts_context();
        assert_int_equal(repmlp_context_load_cache_memory(fresh, kinds[k].kind, mem, n), REPMLP_OK);
        assert_int_equal(repmlp_context_load_cache(fresh, kinds[k].kind, path), REPMLP_OK);
        /* The other kind's bytes are not this kind's: ignored (a log line), not an error. */
        assert_int_equal(repmlp_context_load_cache_memory(fresh, kinds[1 - k].kind, mem, n),
                         REPMLP_OK);
        ts_context_done(fresh);
        free(mem);
        remove(path);
    }
    assert_int_equal(repmlp_context_save_cache(ctx, (repmlp_cache_kind)9, path),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(repmlp_last_error(), "9 is not a repmlp_cache_kind"));
    size_t n = 0;
    assert_int_equal(repmlp_context_save_cache_memory(NULL, REPMLP_CACHE_TUNING, NULL, &n),
                     REPMLP_ERROR_INVALID_ARGUMENT);
    repmlp_session_destroy(s);
    repmlp_model_destroy(m);
    ts_context_done(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(context_desc_old_layout),
        cmocka_unit_test(context_desc_newer_layout),
        cmocka_unit_test(unset_size_refused),
        cmocka_unit_test(initializers),
        cmocka_unit_test(count_query),
        cmocka_unit_test(caches),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_fixture_open, ts_group_fixture_close));
}
