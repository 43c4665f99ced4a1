/* The architecture registry: every model-layer row (model/arch_registry.h) has a runtime row
 * (exec/model.h) of the same name pointing back at it and vice versa, the public fuser lists
 * exactly the model rows, each row's config round-trips through its JSON, and every preset
 * parses as its arch. */
#include "host_util.h"

#include <string.h>

#include "core/alloc.h"
#include "exec/model.h"
#include "io/json.h"
#include "model/arch_registry.h"
#include "repmlp/fuse.h"

static void model_rows_have_runtime_rows(void **state) {
    (void)state;
    assert_true(rm_model_arch_count() > 0);
    for (size_t i = 0; i < rm_model_arch_count(); i++) {
        const rm_model_arch *m = rm_model_arch_at(i);
        const rm_arch *r = rm_arch_find(m->name);
        if (!r) fail_msg("model arch %s has no runtime row", m->name);
        assert_ptr_equal(r->model, m);
        assert_ptr_equal(rm_model_arch_find(m->name), m);
        assert_non_null(m->description);
        assert_non_null(m->fuse);
    }
    assert_null(rm_model_arch_at(rm_model_arch_count()));
    assert_null(rm_model_arch_find("nope"));
}

static void runtime_rows_have_model_rows(void **state) {
    (void)state;
#ifndef REPMLP_TEST_HOOKS
    ts_skip("walking the runtime's rows needs rm_arch_at: configure with -DREPMLP_TEST_HOOKS=ON");
#else
    size_t n = 0;
    for (const rm_arch *r; (r = rm_arch_at(n)) != NULL; n++) {
        assert_non_null(r->model);
        assert_non_null(r->build);
        assert_ptr_equal(rm_arch_find(r->name), r);
        /* Runtime-only rows (RepMLP-unfused) borrow another row's config: not fusable. */
        const rm_model_arch *m = rm_model_arch_find(r->name);
        if (strcmp(r->name, RM_ARCH_BLOCK_V1_TRAIN) == 0)
            assert_null(m);
        else if (m != r->model)
            fail_msg("runtime arch %s has no model row of its name", r->name);
    }
    assert_int_equal(n, rm_model_arch_count() + 1);
#endif
}

static void public_fuser_lists_the_rows(void **state) {
    (void)state;
    assert_int_equal(repmlp_fuse_arch_count(), rm_model_arch_count());
    for (size_t i = 0; i < rm_model_arch_count(); i++) {
        const char *what = NULL;
        assert_string_equal(repmlp_fuse_arch_name(i, &what), rm_model_arch_at(i)->name);
        assert_string_equal(what, rm_model_arch_at(i)->description);
    }
    assert_null(repmlp_fuse_arch_name(rm_model_arch_count(), NULL));
    assert_int_equal(repmlp_fuse_preset_count(), rm_preset_count());
}

/* Every preset parses as its arch, and its config survives to_json -> from_json unchanged. */
static void presets_parse_and_round_trip(void **state) {
    (void)state;
    assert_true(rm_preset_count() > 0);
    for (size_t i = 0; i < rm_preset_count(); i++) {
        const rm_preset *p = rm_preset_at(i);
        const rm_model_arch *m = rm_model_arch_find(p->arch);
        assert_non_null(m);
        assert_ptr_equal(rm_preset_find(p->name), p);
        cJSON *json = NULL;
        hu_expect_ok(rm_preset_config(p, NULL, p->name, &json));
        void *cfg = NULL, *back = NULL;
        hu_expect_ok(rm_model_arch_parse(m, json, p->name, &cfg));
        cJSON_Delete(json);
        char *text = m->to_json(cfg);
        assert_non_null(text);
        hu_expect_ok(rm_json_parse(text, strlen(text), p->name, &json));
        hu_expect_ok(rm_model_arch_parse(m, json, p->name, &back));
        assert_memory_equal(cfg, back, m->config_size);
        int64_t in[3], out[3];
        int out_ndim = 0;
        m->io_shape(cfg, in, &out_ndim, out);
        assert_true(in[0] >= 1 && in[1] >= 1 && in[2] >= 1);
        assert_true(out_ndim == 1 || out_ndim == 3);
        cJSON_Delete(json);
        rm_free(text);
        rm_free(cfg);
        rm_free(back);
    }
    assert_null(rm_preset_at(rm_preset_count()));
    assert_null(rm_preset_find("nope"));
}

static void parse_failure_frees_and_names_the_key(void **state) {
    (void)state;
    const rm_model_arch *m = rm_model_arch_find(RM_ARCH_BLOCK_V1);
    cJSON *json = NULL;
    hu_expect_ok(rm_json_parse("{\"in_channels\":4}", 17, "t", &json));
    void *cfg = (void *)&cfg;
    HU_EXPECT_ERROR(rm_model_arch_parse(m, json, "cfg.json", &cfg), REPMLP_ERROR_CONFIG, "cfg.json",
                    "'out_channels'");
    assert_null(cfg);
    cJSON_Delete(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_rows_have_runtime_rows),
        cmocka_unit_test(runtime_rows_have_model_rows),
        cmocka_unit_test(public_fuser_lists_the_rows),
        cmocka_unit_test(presets_parse_and_round_trip),
        cmocka_unit_test(parse_failure_frees_and_names_the_key),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
