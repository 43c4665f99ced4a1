/* The preprocessing a training script recorded in a fused file's __metadata__ ("preprocess",
 * written by repmlp-fuse --metadata preprocess=@P.json), checked against the model. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "model/fused_format.h"

static bool json_size(const cJSON *obj, const char *key, uint32_t *h, uint32_t *w) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    int64_t v0, v1;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2 ||
        !rm_json_exact_int(cJSON_GetArrayItem(a, 0), &v0) ||
        !rm_json_exact_int(cJSON_GetArrayItem(a, 1), &v1) || v0 < 1 || v1 < 1 || v0 > 16384 ||
        v1 > 16384)
        return false;
    *h = (uint32_t)v0;
    *w = (uint32_t)v1;
    return true;
}

/* A number, or an array of `channels` numbers, into out[channels]. */
static bool json_per_channel(const cJSON *obj, const char *key, uint32_t channels, double *out) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(a)) {
        for (uint32_t c = 0; c < channels; c++) out[c] = a->valuedouble;
        return true;
    }
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != (int)channels) return false;
    for (uint32_t c = 0; c < channels; c++) {
        const cJSON *v = cJSON_GetArrayItem(a, (int)c);
        if (!cJSON_IsNumber(v)) return false;
        out[c] = v->valuedouble;
    }
    return true;
}

/* What is wrong with the parsed object j as preprocessing for a model taking `in` (NULL when
 * nothing); fills p. */
static const char *check(const cJSON *j, const repmlp_shape *in, repmlp_preprocessing *p) {
    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(j)) return "is not a JSON object";
    if (!json_size(j, "source_size", &p->source_h, &p->source_w))
        return "key 'source_size' is not [h, w] (positive integers)";
    if (!json_size(j, "input_size", &p->input_h, &p->input_w))
        return "key 'input_size' is not [H, W] (positive integers)";
    if (in->ndim != 4 || p->input_h != in->dims[2] || p->input_w != in->dims[3])
        return "key 'input_size' differs from the model's input size";
    p->channels = (uint32_t)in->dims[1];
    if (p->channels != 1 && p->channels != 3)
        return "the model takes neither 1 (gray) nor 3 (RGB) channels";
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "channels");
    const cJSON *vr = cJSON_GetObjectItemCaseSensitive(j, "value_range");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "resize");
    if (ch && !(cJSON_IsNumber(ch) && ch->valuedouble == p->channels))
        return "key 'channels' differs from the model's input channels";
    if (!cJSON_IsArray(vr) || cJSON_GetArraySize(vr) != 2 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(vr, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(vr, 1)))
        return "key 'value_range' is not [lo, hi]";
    if (!json_per_channel(j, "mean", p->channels, p->mean))
        return "key 'mean' is not a number or one per channel";
    if (!json_per_channel(j, "std", p->channels, p->std))
        return "key 'std' is not a number or one per channel";
    if (!cJSON_IsString(rs) ||
        (strcmp(rs->valuestring, "bilinear") && strcmp(rs->valuestring, "none")))
        return "key 'resize' is not \"bilinear\" or \"none\"";
    p->value_lo = cJSON_GetArrayItem(vr, 0)->valuedouble;
    p->value_hi = cJSON_GetArrayItem(vr, 1)->valuedouble;
    if (!isfinite(p->value_lo) || !isfinite(p->value_hi)) return "key 'value_range' is not finite";
    p->bilinear = strcmp(rs->valuestring, "bilinear") == 0;
    for (uint32_t c = 0; c < p->channels; c++)
        if (!(p->std[c] > 0) || !isfinite(p->std[c]) || !isfinite(p->mean[c]))
            return "key 'std' must be positive (and 'mean' finite)";
    if (!p->bilinear && (p->source_h != p->input_h || p->source_w != p->input_w))
        return "key 'resize' is \"none\" but source_size differs from input_size";
    return NULL;
}

repmlp_status rm_preprocess_parse(const char *json, const repmlp_shape *in, const char *where,
                                  repmlp_preprocessing *out) {
    cJSON *j = NULL;
    repmlp_status st = rm_json_parse(json, strlen(json), where, &j);
    if (st != REPMLP_OK) return st;
    const char *bad = check(j, in, out);
    cJSON_Delete(j);
    return bad ? rm_fail(REPMLP_ERROR_FORMAT, "%s: %s", where, bad) : REPMLP_OK;
}
