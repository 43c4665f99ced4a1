/* The model's preprocessing through the public API: the JSON a fused file carries under its
 * metadata (or one given by the caller), checked against the model's input shape. */
#include <stdio.h>

#include "core/error.h"
#include "exec/model.h"
#include "model/fused_format.h"

static repmlp_status parse(const repmlp_model *m, const char *json, const char *where,
                           repmlp_preprocessing *out) {
    repmlp_shape in;
    repmlp_model_input_shape(m, &in);
    return rm_preprocess_parse(json, &in, where, out);
}

repmlp_status repmlp_model_parse_preprocessing(const repmlp_model *m, const char *json,
                                               repmlp_preprocessing *out) {
    if (!m || !json || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_preprocessing: NULL argument");
    return parse(m, json, "preprocessing JSON", out);
}

repmlp_status repmlp_model_preprocessing(const repmlp_model *m, repmlp_preprocessing *out) {
    if (!m || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_model_preprocessing: NULL argument");
    char where[1100];
    snprintf(where, sizeof where, "%s: __metadata__ key 'preprocess'", m->path);
    if (!m->preprocess)
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s is missing (fuse with repmlp-fuse --metadata "
                       "preprocess=@preprocess.json)",
                       where);
    return parse(m, m->preprocess, where, out);
}
