/* Private: the fused model file (docs/FUSED_FORMAT.md). A safetensors file of F32 deploy
 * tensors whose __metadata__ holds:
 *   "format":         "repmlp-vk-fused"
 *   "format_version": "1"
 *   "arch":           "RepMLP" (one of the architecture names, include/repmlp/fuse.h)
 *   "config":         the arch's full config as compact JSON (for RepMLP:
 *                     rm_block_v1_config_to_json), so the runner needs nothing else.
 * Tensor names are the deploy names of docs/MODELS.md, e.g. for RepMLP fc1_fc2.fc1.{weight,bias},
 * fc1_fc2.fc2.{weight,bias} (GP only), fc3.weight, fc3.bias. */
#ifndef RM_FUSED_FORMAT_H
#define RM_FUSED_FORMAT_H

#include "io/safetensors.h"
#include "repmlp/model.h"
#include "repmlp/status.h"

#define RM_FUSED_FORMAT "repmlp-vk-fused"
#define RM_FUSED_FORMAT_VERSION "1"
#define RM_FUSED_KEY_FORMAT "format"
#define RM_FUSED_KEY_VERSION "format_version"
#define RM_FUSED_KEY_ARCH "arch"
#define RM_FUSED_KEY_CONFIG "config"

/* Sets the four metadata entries on a writer, plus the extra entries below. */
repmlp_status rm_fused_set_metadata(rm_st_writer *w, const char *arch, const char *config_json);

/* Extra __metadata__ string entries for every fused file written from now on
 * (`repmlp-fuse --metadata KEY=VALUE`, e.g. the digits example's "preprocess"). The arrays and
 * strings are borrowed: they must outlive the writes; count 0 clears the list. Per thread
 * (repmlp_fuse_file sets and clears it around one fuse). Refuses (REPMLP_ERROR_INVALID_ARGUMENT,
 * naming the key) an empty key, a key of the format itself (format, format_version, arch,
 * config) and a key given twice; the list is unchanged then. */
repmlp_status rm_fused_set_extra_metadata(const char *const *keys, const char *const *values,
                                          size_t count);

/* Checks that an opened file is a fused model of this format version and returns its arch
 * and config JSON text (owned by st). Errors: REPMLP_ERROR_FORMAT naming the file and the
 * metadata key ("<file>: __metadata__ key 'format': expected 'repmlp-vk-fused', got ..."). */
repmlp_status rm_fused_read_metadata(const rm_safetensors *st, const char **arch,
                                     const char **config_json);

/* The "preprocess" JSON text (repmlp/model.h, repmlp_preprocessing) checked against a model
 * taking `in`; REPMLP_ERROR_FORMAT "<where>: <what is wrong>" otherwise. */
repmlp_status rm_preprocess_parse(const char *json, const repmlp_shape *in, const char *where,
                                  repmlp_preprocessing *out);

#endif
