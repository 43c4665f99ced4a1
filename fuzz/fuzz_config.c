/* Every architecture's config parser on arbitrary JSON text; an accepted config must
 * serialize and parse back to the same struct. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/json.h"
#include "model/config.h"
#include "model/config_nets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUND_TRIP(type, from_json, to_json, obj)                                                  \
    do {                                                                                           \
        type a, b;                                                                                 \
        memset(&a, 0, sizeof a);                                                                   \
        memset(&b, 0, sizeof b);                                                                   \
        if (from_json(obj, "fuzz", &a) == REPMLP_OK) {                                             \
            char *text = to_json(&a);                                                              \
            cJSON *back = NULL;                                                                    \
            if (text && rm_json_parse(text, strlen(text), "fuzz", &back) == REPMLP_OK) {           \
                if (from_json(back, "fuzz", &b) != REPMLP_OK || memcmp(&a, &b, sizeof a) != 0)     \
                    abort();                                                                       \
                cJSON_Delete(back);                                                                \
            }                                                                                      \
            rm_free(text);                                                                         \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *obj = NULL;
    if (rm_json_parse((const char *)data, size, "fuzz", &obj) != REPMLP_OK) return 0;
    ROUND_TRIP(rm_block_v1_config, rm_block_v1_config_from_json, rm_block_v1_config_to_json, obj);
    ROUND_TRIP(rm_block_v2_config, rm_block_v2_config_from_json, rm_block_v2_config_to_json, obj);
    ROUND_TRIP(rm_resnet_config, rm_resnet_config_from_json, rm_resnet_config_to_json, obj);
    ROUND_TRIP(rm_repmlpnet_config, rm_repmlpnet_config_from_json, rm_repmlpnet_config_to_json,
               obj);
    cJSON_Delete(obj);
    return 0;
}
