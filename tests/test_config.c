/* RepMLP v1 block config: parsing with defaults, the canonical JSON, and every rejection
 * naming the key at fault. */
#include "host_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/json.h"
#include "model/config.h"
#include "model/config_json.h"

static cJSON *parse(const char *text) {
    cJSON *j = NULL;
    hu_expect_ok(rm_json_parse(text, strlen(text), "test", &j));
    return j;
}

static repmlp_status from_text(const char *text, rm_block_v1_config *cfg) {
    cJSON *j = parse(text);
    repmlp_status s = rm_block_v1_config_from_json(j, "cfg.json", cfg);
    cJSON_Delete(j);
    return s;
}

#define BASE "\"in_channels\":8,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":5"

static void defaults_and_derived(void **state) {
    (void)state;
    rm_block_v1_config c;
    hu_expect_ok(from_text("{" BASE "}", &c));
    assert_int_equal(c.in_channels, 8);
    assert_int_equal(c.out_channels, 12);
    assert_int_equal(c.kernel_count, 0);
    assert_int_equal(c.fc1_fc2_reduction, 1);
    assert_int_equal(c.fc3_groups, 1);
    assert_int_equal(c.hp, 2);
    assert_int_equal(c.wp, 2);
    assert_int_equal(c.I, 32);
    assert_true(c.has_gp);

    hu_expect_ok(from_text("{" BASE ",\"reparam_conv_k\":[7,1,3],\"fc1_fc2_reduction\":3,"
                           "\"fc3_groups\":4}",
                           &c));
    assert_int_equal(c.kernel_count, 3);
    assert_int_equal(c.kernels[0], 1);
    assert_int_equal(c.kernels[1], 3);
    assert_int_equal(c.kernels[2], 7);
    assert_int_equal(c.I, 10); /* 32 / 3 rounds down */

    hu_expect_ok(from_text("{\"in_channels\":2,\"out_channels\":2,\"H\":3,\"W\":3,\"h\":3,\"w\":3,"
                           "\"reparam_conv_k\":null}",
                           &c));
    assert_false(c.has_gp);
    assert_int_equal(c.I, 2);
    hu_expect_ok(from_text("{\"in_channels\":2,\"out_channels\":2,\"H\":3,\"W\":6,\"h\":3,\"w\":3,"
                           "\"reparam_conv_k\":[]}",
                           &c));
    assert_true(c.has_gp); /* W != w alone is enough */
}

static void json_round_trip(void **state) {
    (void)state;
    rm_block_v1_config a, b;
    hu_expect_ok(from_text("{" BASE ",\"reparam_conv_k\":[5,3],\"fc3_groups\":2}", &a));
    char *text = rm_block_v1_config_to_json(&a);
    assert_non_null(text);
    assert_string_equal(text, "{\"in_channels\":8,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,"
                              "\"w\":5,\"reparam_conv_k\":[3,5],\"fc1_fc2_reduction\":1,"
                              "\"fc3_groups\":2}");
    hu_expect_ok(from_text(text, &b));
    assert_memory_equal(&a, &b, sizeof a);
    rm_free(text);
}

typedef struct bad {
    const char *json;
    const char *needle1, *needle2;
} bad;

static const bad bad_configs[] = {
    {"[1]", "not a JSON object", NULL},
    {"{" BASE ",\"foo\":1}", "config key 'foo'", "unknown key"},
    {"{" BASE ",\"H\":12}", "config key 'H'", "twice"},
    {"{\"in_channels\":8,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6}", "config key 'w'",
     "missing"},
    {"{\"in_channels\":\"8\",\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":5}",
     "config key 'in_channels'", "expected an integer, got a string"},
    {"{\"in_channels\":true,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":5}",
     "config key 'in_channels'", "a boolean"},
    {"{\"in_channels\":8.5,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":5}",
     "config key 'in_channels'", "8.5 is not an integer"},
    {"{\"in_channels\":0,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":5}",
     "config key 'in_channels'", "out of range"},
    {"{\"in_channels\":8,\"out_channels\":12,\"H\":120,\"W\":10,\"h\":7,\"w\":5}",
     "config key 'H': 120 is not divisible by h = 7", NULL},
    {"{\"in_channels\":8,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":4}",
     "config key 'W': 10 is not divisible by w = 4", NULL},
    {"{" BASE ",\"fc3_groups\":3}", "config key 'in_channels'", "not divisible by fc3_groups = 3"},
    {"{\"in_channels\":8,\"out_channels\":6,\"H\":12,\"W\":10,\"h\":6,\"w\":5,\"fc3_groups\":4}",
     "config key 'out_channels'", "not divisible by fc3_groups = 4"},
    {"{" BASE ",\"reparam_conv_k\":[3,4]}", "config key 'reparam_conv_k'", "4 is not an odd"},
    {"{" BASE ",\"reparam_conv_k\":[0]}", "config key 'reparam_conv_k'", "out of range"},
    {"{" BASE ",\"reparam_conv_k\":[-3]}", "config key 'reparam_conv_k'", "out of range"},
    {"{" BASE ",\"reparam_conv_k\":[3,1,3]}", "config key 'reparam_conv_k'", "3 appears twice"},
    {"{" BASE ",\"reparam_conv_k\":3}", "config key 'reparam_conv_k'", "expected an array"},
    {"{" BASE ",\"reparam_conv_k\":[1,\"3\"]}", "config key 'reparam_conv_k'", "element 1"},
    {"{" BASE ",\"reparam_conv_k\":[1,3,5,7,9,11,13,15,17]}", "config key 'reparam_conv_k'",
     "at most 8"},
    {"{" BASE ",\"fc1_fc2_reduction\":33}", "config key 'fc1_fc2_reduction'", "no hidden units"},
    {"{" BASE ",\"fc1_fc2_reduction\":0}", "config key 'fc1_fc2_reduction'", "out of range"},
    {"{\"in_channels\":2097152,\"out_channels\":12,\"H\":12,\"W\":10,\"h\":6,\"w\":5}",
     "config key 'in_channels'", "out of range"},
    {"{\"in_channels\":1048576,\"out_channels\":1048576,\"H\":1024,\"W\":1024,\"h\":1024,"
     "\"w\":1024}",
     "config key", "too large"},
    {"{\"in_channels\":1048576,\"out_channels\":1048576,\"H\":1,\"W\":1,\"h\":1,\"w\":1}",
     "config key 'h'", "fc3 weight"},
};

static void rejections(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        rm_block_v1_config c;
        HU_EXPECT_ERROR(from_text(bad_configs[i].json, &c), REPMLP_ERROR_CONFIG,
                        "cfg.json: ", bad_configs[i].needle1,
                        bad_configs[i].needle2 ? bad_configs[i].needle2 : bad_configs[i].needle1);
        print_message("%s\n", repmlp_last_error());
    }
}

static void generic_helpers(void **state) {
    (void)state;
    static const char *const keys[] = {"block_type", "n", NULL};
    static const char *const types[] = {"base", "light", "bottleneck", NULL};
    cJSON *j = parse("{\"block_type\":\"light\",\"n\":[1,2]}");
    int index = -1, count = 0;
    int64_t v[4];
    hu_expect_ok(rm_cfg_check_keys(j, "w", keys));
    hu_expect_ok(rm_cfg_get_choice(j, "w", "block_type", types, true, 0, &index));
    assert_int_equal(index, 1);
    hu_expect_ok(rm_cfg_get_choice(j, "w", "absent", types, false, 2, &index));
    assert_int_equal(index, 2);
    hu_expect_ok(rm_cfg_get_int_array(j, "w", "n", 4, 1, 9, v, &count));
    assert_int_equal(count, 2);
    assert_int_equal(v[1], 2);
    HU_EXPECT_ERROR(rm_cfg_get_int_array(j, "w", "n", 1, 1, 9, v, &count), REPMLP_ERROR_CONFIG,
                    "config key 'n'", "at most 1");
    cJSON_Delete(j);
    j = parse("{\"block_type\":\"huge\"}");
    HU_EXPECT_ERROR(rm_cfg_get_choice(j, "w", "block_type", types, true, 0, &index),
                    REPMLP_ERROR_CONFIG, "config key 'block_type'", "'huge'");
    cJSON_Delete(j);
    /* exact integers only: 2^53 + 2 cannot be told from its neighbours after parsing */
    j = parse("{\"n\":9007199254740994}");
    HU_EXPECT_ERROR(rm_cfg_get_int(j, "w", "n", true, 0, 0, INT64_MAX, v), REPMLP_ERROR_CONFIG,
                    "config key 'n'", "not an integer");
    cJSON_Delete(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_derived),
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(rejections),
        cmocka_unit_test(generic_helpers),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
