/* The RepMLP v1 fuser on an arbitrary training-time file, with a fixed small config: shape
 * checks, dtype conversions, BN statistics, every-tensor-used check; inputs of odd size write
 * 8-bit weights (repmlp-fuse --weights q8). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/fuse_block_v1.h"
#include "model/fuse_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const config_text =
    "{\"in_channels\":4,\"out_channels\":4,\"H\":8,\"W\":8,\"h\":4,\"w\":4,"
    "\"reparam_conv_k\":[1,3]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rm_block_v1_config cfg;
    static int ready;
    if (!ready) {
        cJSON *json;
        if (rm_json_parse(config_text, strlen(config_text), "fuzz", &json) != REPMLP_OK ||
            rm_block_v1_config_from_json(json, "fuzz", &cfg) != REPMLP_OK)
            abort();
        cJSON_Delete(json);
        ready = 1;
    }
    rm_fuse_set_q8(size % 2 == 1);
    rm_safetensors *st;
    if (rm_safetensors_open(fuzz_write_input(data, size), &st) != REPMLP_OK) return 0;
    rm_st_writer *w;
    if (rm_st_writer_create(&w) == REPMLP_OK) {
        if (rm_fuse_block_v1(&cfg, st, "", w, "") == REPMLP_OK)
            (void)rm_fuse_check_all_used(st, "RepMLP");
        rm_st_writer_destroy(w);
    }
    rm_safetensors_close(st);
    return 0;
}
