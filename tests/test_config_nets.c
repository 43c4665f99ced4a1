/* Configs of the version-2 block, RepMLPNet and RepMLP-ResNet (docs/MODELS.md §2-3): defaults, the
 * full JSON round trip, the per-stage / per-block facts derived from them, the presets, and
 * every rejection naming the key at fault. */
#include "host_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/json.h"
#include "model/arch_registry.h"
#include "model/config_nets.h"

static cJSON *parse(const char *text) {
    cJSON *j = NULL;
    hu_expect_ok(rm_json_parse(text, strlen(text), "test", &j));
    return j;
}

static repmlp_status v2_from(const char *text, rm_block_v2_config *c) {
    cJSON *j = parse(text);
    repmlp_status s = rm_block_v2_config_from_json(j, "cfg.json", c);
    cJSON_Delete(j);
    return s;
}

static repmlp_status net_from(const char *text, rm_repmlpnet_config *c) {
    cJSON *j = parse(text);
    repmlp_status s = rm_repmlpnet_config_from_json(j, "cfg.json", c);
    cJSON_Delete(j);
    return s;
}

static repmlp_status res_from(const char *text, rm_resnet_config *c) {
    cJSON *j = parse(text);
    repmlp_status s = rm_resnet_config_from_json(j, "cfg.json", c);
    cJSON_Delete(j);
    return s;
}

typedef struct bad {
    const char *json;
    const char *needle1, *needle2;
} bad;

typedef repmlp_status (*parse_fn)(const char *text, void *cfg);

static repmlp_status v2_any(const char *t, void *c) {
    return v2_from(t, c);
}
static repmlp_status net_any(const char *t, void *c) {
    return net_from(t, c);
}
static repmlp_status res_any(const char *t, void *c) {
    return res_from(t, c);
}

/* Every case must fail with REPMLP_ERROR_CONFIG, one line naming "cfg.json" and the needles. */
static void expect_bad(parse_fn fn, const bad *cases, size_t n) {
    union {
        rm_block_v2_config a;
        rm_repmlpnet_config b;
        rm_resnet_config c;
    } cfg;
    for (size_t i = 0; i < n; i++) {
        repmlp_status s = fn(cases[i].json, &cfg);
        if (s == REPMLP_OK) fail_msg("accepted: %s", cases[i].json);
        HU_EXPECT_ERROR(s, REPMLP_ERROR_CONFIG, "cfg.json: ", cases[i].needle1,
                        cases[i].needle2 ? cases[i].needle2 : cases[i].needle1);
    }
}

/* ---------------------------------------------------------------- RepMLPBlock */

#define V2 "\"in_channels\":8,\"out_channels\":8,\"H\":8,\"W\":12,\"h\":4,\"w\":3"

static void block_v2_defaults_and_round_trip(void **state) {
    (void)state;
    rm_block_v2_config c, back;
    hu_expect_ok(v2_from("{" V2 "}", &c));
    assert_int_equal(c.channels, 8);
    assert_int_equal(c.reduce, 4);
    assert_int_equal(c.sharesets, 1);
    assert_int_equal(c.kernel_count, 0);
    assert_int_equal(c.hidden, 2);
    assert_int_equal(c.hp, 2);
    assert_int_equal(c.wp, 4);

    hu_expect_ok(v2_from("{" V2 ",\"reparam_conv_k\":[5,1,3],\"globalperceptron_reduce\":3,"
                         "\"num_sharesets\":4}",
                         &c));
    assert_int_equal(c.kernel_count, 3);
    assert_int_equal(c.kernels[0], 1);
    assert_int_equal(c.kernels[2], 5);
    assert_int_equal(c.hidden, 2); /* 8 // 3 */
    char *text = rm_block_v2_config_to_json(&c);
    assert_non_null(text);
    assert_string_equal(text, "{\"in_channels\":8,\"out_channels\":8,\"H\":8,\"W\":12,\"h\":4,"
                              "\"w\":3,\"reparam_conv_k\":[1,3,5],\"globalperceptron_reduce\":3,"
                              "\"num_sharesets\":4}");
    hu_expect_ok(rm_block_v2_config_parse(text, "meta", &back));
    assert_memory_equal(&c, &back, sizeof c);
    rm_free(text);

    int64_t in[3], out[3];
    int ndim;
    rm_block_v2_io_shape(&c, in, &ndim, out);
    assert_int_equal(ndim, 3);
    assert_int_equal(in[0], 8);
    assert_int_equal(in[1], 8);
    assert_int_equal(in[2], 12);
    assert_memory_equal(in, out, sizeof in);
}

static void block_v2_rejections(void **state) {
    (void)state;
    static const bad cases[] = {
        {"{\"in_channels\":8,\"out_channels\":4,\"H\":8,\"W\":12,\"h\":4,\"w\":3}",
         "config key 'out_channels'", "must equal in_channels = 8"},
        {"{" V2 ",\"num_sharesets\":3}", "config key 'num_sharesets'", "not divisible by 3"},
        {"{" V2 ",\"globalperceptron_reduce\":9}", "config key 'globalperceptron_reduce'",
         "no outputs"},
        {"{\"in_channels\":8,\"out_channels\":8,\"H\":9,\"W\":12,\"h\":4,\"w\":3}",
         "config key 'H'", "not divisible by h = 4"},
        {"{\"in_channels\":8,\"out_channels\":8,\"H\":8,\"W\":10,\"h\":4,\"w\":3}",
         "config key 'W'", "not divisible by w = 3"},
        {"{" V2 ",\"reparam_conv_k\":[1,2]}", "config key 'reparam_conv_k'", "2 is not an odd"},
        {"{" V2 ",\"reparam_conv_k\":[3,3]}", "config key 'reparam_conv_k'", "appears twice"},
        {"{" V2 ",\"reparam_conv_k\":3}", "config key 'reparam_conv_k'", "expected an array"},
        {"{" V2 ",\"fc3_groups\":1}", "config key 'fc3_groups'", "unknown key"},
        {"{\"in_channels\":8,\"out_channels\":8,\"H\":8,\"W\":12,\"w\":3}", "config key 'h'",
         "missing"},
        {"{" V2 ",\"num_sharesets\":0}", "config key 'num_sharesets'", "out of range"},
        {"{" V2 ",\"num_sharesets\":2.5}", "config key 'num_sharesets'", "not an integer"},
        {"{" V2 ",\"h\":4}", "config key 'h'", "twice"},
        {"[1]", "config is an array", NULL},
    };
    expect_bad(v2_any, cases, sizeof cases / sizeof cases[0]);
}

/* ---------------------------------------------------------------- RepMLPNet */

#define NET_LISTS                                                                                  \
    "\"num_blocks\":[1,2],\"channels\":[8,16],\"hs\":[4,2],\"ws\":[2,2],\"sharesets_nums\":[2,16]"

static void repmlpnet_defaults_stages_round_trip(void **state) {
    (void)state;
    rm_repmlpnet_config c, back;
    hu_expect_ok(net_from("{" NET_LISTS "}", &c));
    assert_int_equal(c.in_channels, 3);
    assert_int_equal(c.num_class, 1000);
    assert_int_equal(c.patch_h, 4);
    assert_int_equal(c.patch_w, 4);
    assert_int_equal(c.reduce, 4);
    assert_int_equal(c.kernel_count, 0);
    assert_int_equal(c.stage_count, 2);
    assert_int_equal(c.img_H, 16); /* patch * hs[0] */
    assert_int_equal(c.img_W, 16); /* patch * 2*ws[1]: patch * ws[0] = 8 would leave 1x1 */

    hu_expect_ok(net_from("{" NET_LISTS ",\"patch_size\":[2,3],\"in_channels\":1,"
                          "\"num_class\":7,\"reparam_conv_k\":[3,1],\"globalperceptron_reduce\":2,"
                          "\"img_H\":16,\"img_W\":24}",
                          &c));
    assert_int_equal(c.patch_h, 2);
    assert_int_equal(c.patch_w, 3);
    char *text = rm_repmlpnet_config_to_json(&c);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"in_channels\":1,\"num_class\":7,\"patch_size\":[2,3],\"num_blocks\":[1,"
                        "2],\"channels\":[8,16],\"hs\":[4,2],\"ws\":[2,2],\"sharesets_nums\":[2,"
                        "16],\"reparam_conv_k\":[1,3],\"globalperceptron_reduce\":2,\"img_H\":16,"
                        "\"img_W\":24}");
    hu_expect_ok(rm_repmlpnet_config_parse(text, "meta", &back));
    assert_memory_equal(&c, &back, sizeof c);
    rm_free(text);

    rm_repmlpnet_stage st;
    rm_repmlpnet_stage_at(&c, 0, &st);
    assert_int_equal(st.map_H, 8);
    assert_int_equal(st.map_W, 8);
    assert_int_equal(st.units, 1);
    assert_false(st.prebn1_folded); /* 8 channels, 2 sharesets */
    assert_int_equal(st.block.channels, 8);
    assert_int_equal(st.block.sharesets, 2);
    assert_int_equal(st.block.h, 4);
    assert_int_equal(st.block.w, 2);
    assert_int_equal(st.block.hidden, 4);
    assert_int_equal(st.block.kernel_count, 2);
    assert_int_equal(st.block.H, 0);
    rm_repmlpnet_stage_at(&c, 1, &st);
    assert_int_equal(st.map_H, 4);
    assert_int_equal(st.map_W, 4);
    assert_true(st.prebn1_folded);
    assert_int_equal(st.block.hidden, 8);

    int64_t in[3], out[3];
    int ndim;
    rm_repmlpnet_io_shape(&c, in, &ndim, out);
    assert_int_equal(in[0], 1);
    assert_int_equal(in[1], 16);
    assert_int_equal(in[2], 24);
    assert_int_equal(ndim, 1);
    assert_int_equal(out[0], 7);

    /* other input sizes: H/2/2^s divisible by hs[s] */
    hu_expect_ok(rm_repmlpnet_check_input(&c, 32, 12, "x.st"));
    hu_expect_ok(rm_repmlpnet_check_input(&c, 24, 12, "x.st"));
    HU_EXPECT_ERROR(rm_repmlpnet_check_input(&c, 20, 12, "x.st"), REPMLP_ERROR_INVALID_ARGUMENT,
                    "x.st: input height", "stage 0's map 10", "not divisible by hs[0] = 4");
    HU_EXPECT_ERROR(rm_repmlpnet_check_input(&c, 16, 13, "x.st"), REPMLP_ERROR_INVALID_ARGUMENT,
                    "x.st: input width 13 is not divisible by the patch size 3");
    HU_EXPECT_ERROR(rm_repmlpnet_check_input(&c, 16, 18, "x.st"), REPMLP_ERROR_INVALID_ARGUMENT,
                    "input width", "stage 1's map 3", "not divisible by ws[1] = 2");

    /* one int patch; the smallest input that fits when patch*hs[0] does not */
    hu_expect_ok(net_from("{\"patch_size\":2,\"num_blocks\":[2,1],\"channels\":[8,16],"
                          "\"hs\":[3,1],\"ws\":[5,5],\"sharesets_nums\":[4,1]}",
                          &c));
    assert_int_equal(c.patch_h, 2);
    assert_int_equal(c.patch_w, 2);
    assert_int_equal(c.img_H, 12);
    assert_int_equal(c.img_W, 20);
}

static void repmlpnet_rejections(void **state) {
    (void)state;
    static const bad cases[] = {
        {"{\"channels\":[8],\"hs\":[2],\"ws\":[2],\"sharesets_nums\":[1]}",
         "config key 'num_blocks' is missing", NULL},
        {"{\"num_blocks\":[1,2],\"channels\":[8,16],\"hs\":[4],\"ws\":[2,2],"
         "\"sharesets_nums\":[2,16]}",
         "config key 'hs'", "1 entries, but 'num_blocks' has 2"},
        {"{\"num_blocks\":[],\"channels\":[],\"hs\":[],\"ws\":[],\"sharesets_nums\":[]}",
         "config key 'num_blocks'", "empty"},
        {"{\"num_blocks\":[1,1,1,1,1,1,1,1,1],\"channels\":[8],\"hs\":[2],\"ws\":[2],"
         "\"sharesets_nums\":[1]}",
         "config key 'num_blocks'", "at most 8"},
        {"{\"num_blocks\":[1,2],\"channels\":[8,16],\"hs\":[4,2],\"ws\":[2,2],"
         "\"sharesets_nums\":[3,16]}",
         "config key 'sharesets_nums'", "stage 0: channels 8 is not divisible by 3"},
        {"{" NET_LISTS ",\"globalperceptron_reduce\":9}", "config key 'globalperceptron_reduce'",
         "stage 0"},
        {"{" NET_LISTS ",\"img_H\":24}", "config key 'img_H'",
         "stage 0's map 6 (24 / patch 4 / 2^0) is not divisible by hs[0] = 4"},
        {"{" NET_LISTS ",\"img_W\":36}", "config key 'img_W'", "not divisible by ws[0] = 2"},
        {"{\"num_blocks\":[1,1],\"channels\":[8,16],\"hs\":[3,1],\"ws\":[2,2],"
         "\"sharesets_nums\":[1,1],\"img_H\":12}",
         "config key 'img_H'", "stage 0's map 3 (12 / patch 4 / 2^0) is odd"},
        {"{" NET_LISTS ",\"img_H\":18}", "config key 'img_H'", "not divisible by the patch size"},
        {"{\"num_blocks\":[1,2],\"channels\":[8,16],\"hs\":[4,3],\"ws\":[2,2],"
         "\"sharesets_nums\":[2,16],\"img_H\":32}",
         "config key 'img_H'", "hs[1] = 3"},
        {"{" NET_LISTS ",\"patch_size\":[4]}", "config key 'patch_size'", "1 entries, expected 2"},
        {"{" NET_LISTS ",\"patch_size\":0}", "config key 'patch_size'", "out of range"},
        {"{" NET_LISTS ",\"reparam_conv_k\":[0]}", "config key 'reparam_conv_k'", NULL},
        {"{" NET_LISTS ",\"num_classes\":10}", "config key 'num_classes'", "unknown key"},
        {"{\"num_blocks\":[1,2],\"channels\":[8,0],\"hs\":[4,2],\"ws\":[2,2],"
         "\"sharesets_nums\":[2,16]}",
         "config key 'channels'", "out of range"},
    };
    expect_bad(net_any, cases, sizeof cases / sizeof cases[0]);
}

/* ---------------------------------------------------------------- RepMLP-ResNet */

#define RES "\"num_classes\":10,\"img_H\":64,\"img_W\":32,\"h\":2,\"w\":2"

static void resnet_defaults_and_round_trip(void **state) {
    (void)state;
    rm_resnet_config c, back;
    hu_expect_ok(res_from("{" RES ",\"block_type\":\"base\"}", &c));
    static const int64_t nb[4] = {3, 4, 6, 3}, widths[4] = {256, 512, 1024, 2048};
    assert_memory_equal(c.num_blocks, nb, sizeof nb);
    assert_memory_equal(c.widths, widths, sizeof widths);
    assert_int_equal(c.stem_channels, 64);
    assert_int_equal(c.bottleneck_r[0], 2);
    assert_int_equal(c.bottleneck_r[1], 4);
    assert_int_equal(c.fc1_fc2_reduction, 1);
    assert_int_equal(c.fc3_groups, 1);
    assert_int_equal(c.block_type, RM_BLOCK_BASE);

    hu_expect_ok(res_from("{" RES ",\"block_type\":\"bottleneck\",\"num_blocks\":[1,2,2,1],"
                          "\"reparam_conv_k\":[3,1],\"fc1_fc2_reduction\":2,\"fc3_groups\":2,"
                          "\"bottleneck_r\":[2,2],\"widths\":[16,32,64,64],\"stem_channels\":8}",
                          &c));
    char *text = rm_resnet_config_to_json(&c);
    assert_non_null(text);
    assert_string_equal(
        text, "{\"num_blocks\":[1,2,2,1],\"num_classes\":10,\"block_type\":\"bottleneck\","
              "\"img_H\":64,\"img_W\":32,\"h\":2,\"w\":2,\"reparam_conv_k\":[1,3],"
              "\"fc1_fc2_reduction\":2,\"fc3_groups\":2,\"bottleneck_r\":[2,2],"
              "\"widths\":[16,32,64,64],\"stem_channels\":8}");
    hu_expect_ok(rm_resnet_config_parse(text, "meta", &back));
    assert_memory_equal(&c, &back, sizeof c);
    rm_free(text);

    int64_t in[3], out[3];
    int ndim;
    rm_resnet_io_shape(&c, in, &ndim, out);
    assert_int_equal(in[0], 3);
    assert_int_equal(in[1], 64);
    assert_int_equal(in[2], 32);
    assert_int_equal(ndim, 1);
    assert_int_equal(out[0], 10);

    /* base only: no RepMLP, so nothing about h, w or odd sizes matters */
    hu_expect_ok(res_from("{\"num_classes\":10,\"img_H\":30,\"img_W\":17,\"h\":7,\"w\":5,"
                          "\"block_type\":\"base\",\"fc3_groups\":3}",
                          &c));
    rm_resnet_stem stem;
    rm_resnet_stem_at(&c, &stem);
    assert_int_equal(stem.conv_H, 15);
    assert_int_equal(stem.conv_W, 9);
    assert_int_equal(stem.pool_H, 8);
    assert_int_equal(stem.pool_W, 5);
    rm_resnet_block b;
    rm_resnet_block_at(&c, 4, 0, &b);
    assert_int_equal(b.in_H, 2); /* 8 -> 4 -> 2 */
    assert_int_equal(b.out_H, 1);
    assert_int_equal(b.out_W, 1); /* 5 -> 3 -> 2 -> 1 */
}

/* The block table of docs/MODELS.md §2 on the two presets. */
static void resnet_blocks_of_presets(void **state) {
    (void)state;
    cJSON *j = NULL;
    rm_resnet_config light, btnk;
    hu_expect_ok(rm_preset_config(rm_preset_find("RepMLPRes50-Light-224"), NULL, "p", &j));
    hu_expect_ok(rm_resnet_config_from_json(j, "p", &light));
    cJSON_Delete(j);
    hu_expect_ok(rm_preset_config(rm_preset_find("RepMLPRes50-Bottleneck-224"), NULL, "p", &j));
    hu_expect_ok(rm_resnet_config_from_json(j, "p", &btnk));
    cJSON_Delete(j);

    rm_resnet_block b;
    rm_resnet_block_at(&light, 1, 0, &b); /* T = 4: base; 64 -> 256 needs a ConvBN shortcut */
    assert_int_equal(b.kind, RM_BLOCK_BASE);
    assert_int_equal(b.in, 64);
    assert_int_equal(b.width, 256);
    assert_int_equal(b.mid, 64);
    assert_int_equal(b.stride, 1);
    assert_true(b.conv_shortcut);
    assert_int_equal(b.in_H, 56);
    rm_resnet_block_at(&light, 1, 2, &b);
    assert_int_equal(b.kind, RM_BLOCK_BASE);
    assert_false(b.conv_shortcut);
    rm_resnet_block_at(&light, 2, 0, &b); /* stride 2: base */
    assert_int_equal(b.kind, RM_BLOCK_BASE);
    assert_int_equal(b.stride, 2);
    assert_int_equal(b.in, 256);
    assert_true(b.conv_shortcut);
    assert_int_equal(b.in_H, 56);
    assert_int_equal(b.out_H, 28);
    rm_resnet_block_at(&light, 2, 3, &b);
    assert_int_equal(b.kind, RM_BLOCK_LIGHT);
    assert_int_equal(b.T, 8);
    assert_int_equal(b.mid, 64);
    assert_false(b.conv_shortcut);
    assert_int_equal(b.repmlp.in_channels, 64);
    assert_int_equal(b.repmlp.out_channels, 64);
    assert_int_equal(b.repmlp.H, 28);
    assert_int_equal(b.repmlp.h, 7);
    assert_int_equal(b.repmlp.hp, 4);
    assert_int_equal(b.repmlp.I, 64 * 16);
    assert_int_equal(b.repmlp.fc3_groups, 4);
    assert_int_equal(b.repmlp.kernel_count, 3);
    assert_true(b.repmlp.has_gp);
    rm_resnet_block_at(&light, 3, 5, &b);
    assert_int_equal(b.kind, RM_BLOCK_LIGHT);
    assert_int_equal(b.mid, 128);
    assert_int_equal(b.repmlp.H, 14);
    assert_int_equal(b.repmlp.hp, 2);
    rm_resnet_block_at(&light, 4, 1, &b); /* T = 32: base */
    assert_int_equal(b.kind, RM_BLOCK_BASE);
    assert_int_equal(b.in_H, 7);

    rm_resnet_block_at(&btnk, 2, 1, &b);
    assert_int_equal(b.kind, RM_BLOCK_BOTTLENECK);
    assert_int_equal(b.mid, 128);
    assert_int_equal(b.rc, 64); /* r = 2 */
    assert_int_equal(b.repmlp.in_channels, 64);
    assert_int_equal(b.repmlp.fc3_groups, 8);
    rm_resnet_block_at(&btnk, 3, 1, &b);
    assert_int_equal(b.mid, 256);
    assert_int_equal(b.rc, 64); /* r = 4 */
    assert_int_equal(b.repmlp.H, 14);
}

static void resnet_rejections(void **state) {
    (void)state;
    static const bad cases[] = {
        {"{" RES "}", "config key 'block_type' is missing", NULL},
        {"{" RES ",\"block_type\":\"heavy\"}", "config key 'block_type'", "unknown value 'heavy'"},
        {"{\"img_H\":64,\"img_W\":32,\"h\":2,\"w\":2,\"block_type\":\"base\"}",
         "config key 'num_classes' is missing", NULL},
        {"{" RES ",\"block_type\":\"base\",\"num_blocks\":[3,4,6]}", "config key 'num_blocks'",
         "3 entries, expected 4"},
        {"{" RES ",\"block_type\":\"base\",\"num_blocks\":[3,0,6,3]}", "config key 'num_blocks'",
         "out of range"},
        {"{" RES ",\"block_type\":\"base\",\"widths\":[16,30,64,128]}", "config key 'widths'",
         "widths[1] = 30 is not divisible by 4"},
        {"{" RES ",\"block_type\":\"light\",\"widths\":[16,36,64,128]}", "config key 'widths'",
         "widths[1] = 36 is not divisible by 8"},
        {"{" RES ",\"block_type\":\"bottleneck\",\"widths\":[16,32,64,128],\"bottleneck_r\":[3,4]}",
         "config key 'bottleneck_r'", "bottleneck_r[0] = 3"},
        {"{" RES ",\"block_type\":\"bottleneck\",\"bottleneck_r\":[2]}",
         "config key 'bottleneck_r'", "1 entries, expected 2"},
        {"{\"num_classes\":10,\"img_H\":60,\"img_W\":32,\"h\":2,\"w\":2,\"block_type\":\"light\"}",
         "config key 'img_H'", "60 is not divisible by 8"},
        {"{\"num_classes\":10,\"img_H\":64,\"img_W\":32,\"h\":3,\"w\":2,\"block_type\":\"light\"}",
         "config key 'h'", "img_H/8 = 8 is not divisible by h = 3"},
        {"{\"num_classes\":10,\"img_H\":64,\"img_W\":48,\"h\":2,\"w\":2,\"block_type\":\"light\","
         "\"num_blocks\":[1,1,2,1]}",
         "config key 'w'", "stage3.1.light_repmlp's map width img_W/16 = 3"},
        {"{" RES ",\"block_type\":\"light\",\"fc3_groups\":3}", "config key 'fc3_groups'",
         "64 channels"},
        {"{" RES ",\"block_type\":\"light\",\"fc1_fc2_reduction\":100000}",
         "config key 'fc1_fc2_reduction'", "no hidden units"},
        {"{" RES ",\"block_type\":\"light\",\"reparam_conv_k\":[1,4]}",
         "config key 'reparam_conv_k'", "4"},
        {"{" RES ",\"block_type\":\"base\",\"stem\":64}", "config key 'stem'", "unknown key"},
    };
    expect_bad(res_any, cases, sizeof cases / sizeof cases[0]);
    /* a stage-1-only light network has no light block (T = 4): h is free */
    rm_resnet_config c;
    hu_expect_ok(res_from("{\"num_classes\":10,\"img_H\":64,\"img_W\":32,\"h\":3,\"w\":2,"
                          "\"block_type\":\"light\",\"num_blocks\":[2,1,1,1]}",
                          &c));
}

/* ---------------------------------------------------------------- presets */

static void presets_expand(void **state) {
    (void)state;
    assert_int_equal(rm_preset_count(), 8);
    assert_null(rm_preset_find("RepMLPNet-T999"));
    assert_null(rm_preset_at(8));
    static const struct {
        const char *name;
        int64_t channels[4], hs[4], blocks[4], sharesets[4];
    } nets[] = {
        {"RepMLPNet-T224", {64, 128, 256, 512}, {56, 28, 14, 7}, {2, 2, 6, 2}, {1, 4, 16, 128}},
        {"RepMLPNet-T256", {64, 128, 256, 512}, {64, 32, 16, 8}, {2, 2, 6, 2}, {1, 4, 16, 128}},
        {"RepMLPNet-B224", {96, 192, 384, 768}, {56, 28, 14, 7}, {2, 2, 12, 2}, {1, 4, 32, 128}},
        {"RepMLPNet-B256", {96, 192, 384, 768}, {64, 32, 16, 8}, {2, 2, 12, 2}, {1, 4, 32, 128}},
        {"RepMLPNet-D256", {80, 160, 320, 640}, {64, 32, 16, 8}, {2, 2, 18, 2}, {1, 4, 16, 128}},
        {"RepMLPNet-L256", {96, 192, 384, 768}, {64, 32, 16, 8}, {2, 2, 18, 2}, {1, 4, 32, 256}},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        const rm_preset *p = rm_preset_find(nets[i].name);
        assert_non_null(p);
        assert_string_equal(p->arch, "RepMLPNet");
        cJSON *j = NULL;
        rm_repmlpnet_config c;
        hu_expect_ok(rm_preset_config(p, NULL, "p", &j));
        hu_expect_ok(rm_repmlpnet_config_from_json(j, "p", &c));
        cJSON_Delete(j);
        assert_int_equal(c.stage_count, 4);
        assert_memory_equal(c.channels, nets[i].channels, sizeof nets[i].channels);
        assert_memory_equal(c.hs, nets[i].hs, sizeof nets[i].hs);
        assert_memory_equal(c.ws, nets[i].hs, sizeof nets[i].hs);
        assert_memory_equal(c.num_blocks, nets[i].blocks, sizeof nets[i].blocks);
        assert_memory_equal(c.sharesets, nets[i].sharesets, sizeof nets[i].sharesets);
        assert_int_equal(c.kernel_count, 2);
        assert_int_equal(c.kernels[0], 1);
        assert_int_equal(c.kernels[1], 3);
        assert_int_equal(c.in_channels, 3);
        assert_int_equal(c.num_class, 1000);
        assert_int_equal(c.patch_h, 4);
        assert_int_equal(c.reduce, 4);
        assert_int_equal(c.img_H, 4 * nets[i].hs[0]); /* MODELS.md §3: 3 x 4hs[0] x 4ws[0] */
        assert_int_equal(c.img_W, 4 * nets[i].hs[0]);
    }
    const rm_preset *p = rm_preset_find("RepMLPNet-T224");
    cJSON *j = NULL;
    rm_repmlpnet_config c;
    hu_expect_ok(rm_preset_config(p, NULL, "p", &j));
    hu_expect_ok(rm_repmlpnet_config_from_json(j, "p", &c));
    cJSON_Delete(j);
    char *text = rm_repmlpnet_config_to_json(&c);
    assert_string_equal(text, "{\"in_channels\":3,\"num_class\":1000,\"patch_size\":[4,4],"
                              "\"num_blocks\":[2,2,6,2],\"channels\":[64,128,256,512],"
                              "\"hs\":[56,28,14,7],\"ws\":[56,28,14,7],"
                              "\"sharesets_nums\":[1,4,16,128],\"reparam_conv_k\":[1,3],"
                              "\"globalperceptron_reduce\":4,\"img_H\":224,\"img_W\":224}");
    rm_free(text);

    rm_resnet_config r;
    hu_expect_ok(rm_preset_config(rm_preset_find("RepMLPRes50-Bottleneck-224"), NULL, "p", &j));
    assert_string_equal(rm_preset_find("RepMLPRes50-Bottleneck-224")->arch, "RepMLPResNet");
    hu_expect_ok(rm_resnet_config_from_json(j, "p", &r));
    cJSON_Delete(j);
    text = rm_resnet_config_to_json(&r);
    assert_string_equal(text, "{\"num_blocks\":[3,4,6,3],\"num_classes\":1000,\"block_type\":"
                              "\"bottleneck\",\"img_H\":224,\"img_W\":224,\"h\":7,\"w\":7,"
                              "\"reparam_conv_k\":[1,3,5],\"fc1_fc2_reduction\":1,\"fc3_groups\":8,"
                              "\"bottleneck_r\":[2,4],\"widths\":[256,512,1024,2048],"
                              "\"stem_channels\":64}");
    rm_free(text);
    hu_expect_ok(rm_preset_config(rm_preset_find("RepMLPRes50-Light-224"), NULL, "p", &j));
    hu_expect_ok(rm_resnet_config_from_json(j, "p", &r));
    cJSON_Delete(j);
    assert_int_equal(r.block_type, RM_BLOCK_LIGHT);
    assert_int_equal(r.fc3_groups, 4);
}

static void preset_overrides(void **state) {
    (void)state;
    const rm_preset *p = rm_preset_find("RepMLPNet-B224");
    cJSON *over = parse("{\"num_class\":10,\"img_H\":448,\"reparam_conv_k\":null}");
    cJSON *j = NULL;
    rm_repmlpnet_config c;
    hu_expect_ok(rm_preset_config(p, over, "t: --config", &j));
    hu_expect_ok(rm_repmlpnet_config_from_json(j, "t: --config", &c));
    cJSON_Delete(j);
    cJSON_Delete(over);
    assert_int_equal(c.num_class, 10);
    assert_int_equal(c.img_H, 448);
    assert_int_equal(c.img_W, 224);
    assert_int_equal(c.kernel_count, 0); /* null: back to the default (none) */
    assert_int_equal(c.channels[3], 768);

    /* an override that breaks the preset is reported against --config */
    over = parse("{\"sharesets_nums\":[1,4,32,100]}");
    hu_expect_ok(rm_preset_config(p, over, "t: --config", &j));
    HU_EXPECT_ERROR(rm_repmlpnet_config_from_json(j, "t: --config", &c), REPMLP_ERROR_CONFIG,
                    "t: --config: config key 'sharesets_nums'", "768 is not divisible by 100");
    cJSON_Delete(j);
    cJSON_Delete(over);
    over = parse("{\"num_blocks\":[1]}");
    hu_expect_ok(rm_preset_config(p, over, "t: --config", &j));
    HU_EXPECT_ERROR(rm_repmlpnet_config_from_json(j, "t: --config", &c), REPMLP_ERROR_CONFIG,
                    "config key 'channels': 4 entries, but 'num_blocks' has 1");
    cJSON_Delete(j);
    cJSON_Delete(over);
    over = parse("{\"bogus\":1}");
    hu_expect_ok(rm_preset_config(p, over, "t: --config", &j));
    HU_EXPECT_ERROR(rm_repmlpnet_config_from_json(j, "t: --config", &c), REPMLP_ERROR_CONFIG,
                    "config key 'bogus': unknown key");
    cJSON_Delete(j);
    cJSON_Delete(over);
    over = parse("{\"num_class\":10,\"num_class\":11}");
    HU_EXPECT_ERROR(rm_preset_config(p, over, "t: --config", &j), REPMLP_ERROR_CONFIG,
                    "t: --config: config key 'num_class' appears twice");
    assert_null(j);
    cJSON_Delete(over);
    over = parse("[1]");
    HU_EXPECT_ERROR(rm_preset_config(p, over, "t: --config", &j), REPMLP_ERROR_CONFIG,
                    "t: --config: config is not a JSON object");
    cJSON_Delete(over);

    rm_resnet_config r;
    over = parse("{\"img_H\":112,\"img_W\":448,\"block_type\":\"base\"}");
    hu_expect_ok(rm_preset_config(rm_preset_find("RepMLPRes50-Light-224"), over, "o", &j));
    hu_expect_ok(rm_resnet_config_from_json(j, "o", &r));
    assert_int_equal(r.block_type, RM_BLOCK_BASE);
    assert_int_equal(r.img_H, 112);
    assert_int_equal(r.img_W, 448);
    assert_int_equal(r.fc3_groups, 4);
    cJSON_Delete(j);
    cJSON_Delete(over);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(block_v2_defaults_and_round_trip),
        cmocka_unit_test(block_v2_rejections),
        cmocka_unit_test(repmlpnet_defaults_stages_round_trip),
        cmocka_unit_test(repmlpnet_rejections),
        cmocka_unit_test(resnet_defaults_and_round_trip),
        cmocka_unit_test(resnet_blocks_of_presets),
        cmocka_unit_test(resnet_rejections),
        cmocka_unit_test(presets_expand),
        cmocka_unit_test(preset_overrides),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
