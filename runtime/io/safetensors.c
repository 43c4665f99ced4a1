/* safetensors reader: dtypes, validation, lookup and float conversion. The writer is in
 * safetensors_write.c. */
#include "io/safetensors.h"

#include "core/alloc.h"
#include "core/error.h"
#include "io/file_map.h"
#include "io/json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[RM_DTYPE_COUNT] = {
#define RM_DTYPE_ROW_(id, name, size) {name, size},
    RM_DTYPE_MAP(RM_DTYPE_ROW_)
#undef RM_DTYPE_ROW_
};

const char *rm_dtype_name(rm_dtype dtype) {
    return (unsigned)dtype < RM_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

size_t rm_dtype_size(rm_dtype dtype) {
    return (unsigned)dtype < RM_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

bool rm_dtype_is_float(rm_dtype dtype) {
    return dtype == RM_DTYPE_F64 || dtype == RM_DTYPE_F32 || dtype == RM_DTYPE_F16 ||
           dtype == RM_DTYPE_BF16;
}

static bool dtype_from_name(const char *name, rm_dtype *out) {
    for (int i = 0; i < RM_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_table[i].name) == 0) {
            *out = (rm_dtype)i;
            return true;
        }
    }
    return false;
}

struct rm_safetensors {
    char *path;
    rm_file_map map;
    const unsigned char *data; /* first byte after the header */
    size_t data_size;
    size_t count;
    rm_st_tensor *tensors; /* header order; names owned */
    size_t *by_name;       /* indices sorted by name, for find */
    bool *used;
    size_t meta_count;
    char **meta_keys, **meta_values;
};

const char *rm_st_format_shape(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && len < size; i++) {
        len +=
            (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (len < size) snprintf(buf + len, size - len, ")");
    return buf;
}

/* ---- little-endian loads: file bytes are LE and unaligned, whatever the host is ---- */

static uint16_t load_u16(const unsigned char *p) {
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t load_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_u64(const unsigned char *p) {
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

static float bits_to_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double bits_to_f64(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* IEEE binary16, exactly (every half is a double). */
static double half_to_f64(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp((double)mant, -24); /* zero and subnormals */
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp((double)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

/* Round to nearest like a cast, without the undefined behaviour of casting an out-of-range
 * double to float: FLT_MAX + half an ulp is the point where rounding reaches infinity. */
static float f64_to_f32(double d) {
    if (isnan(d) || fabs(d) <= FLT_MAX) return (float)d;
    float big = fabs(d) < 0x1.ffffffp127 ? FLT_MAX : INFINITY;
    return d < 0 ? -big : big;
}

static double element_f64(const rm_st_tensor *t, size_t i) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
        case RM_DTYPE_F64:
            return bits_to_f64(load_u64(p + 8 * i));
        case RM_DTYPE_F32:
            return bits_to_f32(load_u32(p + 4 * i));
        case RM_DTYPE_F16:
            return half_to_f64(load_u16(p + 2 * i));
        case RM_DTYPE_BF16:
            return bits_to_f32((uint32_t)load_u16(p + 2 * i) << 16);
        default:
            return 0.0;
    }
}

bool rm_st_tensor_to_f32(const rm_st_tensor *t, float *dst) {
    if (!rm_dtype_is_float(t->dtype)) return false;
    for (size_t i = 0; i < t->count; i++) dst[i] = f64_to_f32(element_f64(t, i));
    return true;
}

bool rm_st_tensor_to_f64(const rm_st_tensor *t, double *dst) {
    if (!rm_dtype_is_float(t->dtype)) return false;
    for (size_t i = 0; i < t->count; i++) dst[i] = element_f64(t, i);
    return true;
}

/* ---- header validation ---- */

static repmlp_status oom(const char *path) {
    return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
}

static repmlp_status parse_metadata(rm_safetensors *st, const cJSON *meta) {
    const char *path = st->path;
    if (!cJSON_IsObject(meta)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: __metadata__ is not an object", path);
    }
    size_t n = 0;
    for (const cJSON *it = meta->child; it; it = it->next) n++;
    const char *dup;
    repmlp_status status = rm_json_find_duplicate_key(meta, path, &dup);
    if (status != REPMLP_OK) return status;
    if (dup) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: __metadata__ key '%s' appears twice", path, dup);
    }
    st->meta_keys = rm_calloc(n, sizeof *st->meta_keys);
    st->meta_values = rm_calloc(n, sizeof *st->meta_values);
    if (!st->meta_keys || !st->meta_values) return oom(path);
    for (const cJSON *it = meta->child; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: __metadata__ key '%s': value is not a string",
                           path, it->string);
        }
        size_t i = st->meta_count;
        st->meta_keys[i] = rm_strdup(it->string);
        st->meta_values[i] = rm_strdup(it->valuestring);
        if (!st->meta_keys[i] || !st->meta_values[i]) {
            rm_free(st->meta_keys[i]);
            rm_free(st->meta_values[i]);
            return oom(path);
        }
        st->meta_count++;
    }
    return REPMLP_OK;
}

static repmlp_status parse_entry(rm_safetensors *st, const cJSON *entry, rm_st_tensor *t) {
    const char *path = st->path, *name = entry->string;
    if (!cJSON_IsObject(entry)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': entry is not an object", path, name);
    }
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *it = entry->child; it; it = it->next) {
        const cJSON **slot = strcmp(it->string, "dtype") == 0          ? &dtype
                             : strcmp(it->string, "shape") == 0        ? &shape
                             : strcmp(it->string, "data_offsets") == 0 ? &offsets
                                                                       : NULL;
        if (!slot) {
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': unexpected key '%s'", path, name,
                           it->string);
        }
        if (*slot) {
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': key '%s' appears twice", path,
                           name, it->string);
        }
        *slot = it;
    }
    if (!dtype || !shape || !offsets) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': missing '%s'", path, name,
                       !dtype   ? "dtype"
                       : !shape ? "shape"
                                : "data_offsets");
    }

    if (!cJSON_IsString(dtype)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': dtype is not a string", path, name);
    }
    if (!dtype_from_name(dtype->valuestring, &t->dtype)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", path, name,
                       dtype->valuestring);
    }

    if (!cJSON_IsArray(shape)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': shape is not an array", path, name);
    }
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > RM_ST_MAX_DIMS) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': shape has %d dimensions (max %d)",
                       path, name, ndim, RM_ST_MAX_DIMS);
    }
    t->ndim = ndim;
    int d = 0;
    for (const cJSON *it = shape->child; it; it = it->next, d++) {
        int64_t v;
        if (!rm_json_exact_int(it, &v) || v < 0) {
            return rm_fail(REPMLP_ERROR_FORMAT,
                           "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name,
                           d);
        }
        t->shape[d] = v;
    }

    int64_t range[2];
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !rm_json_exact_int(offsets->child, &range[0]) ||
        !rm_json_exact_int(offsets->child->next, &range[1]) || range[0] < 0 || range[1] < 0) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s': data_offsets is not [begin, end] of non-negative integers",
                       path, name);
    }
    if (range[0] > range[1]) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] decrease",
                       path, name, (long long)range[0], (long long)range[1]);
    }
    if ((uint64_t)range[1] > st->data_size) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s': data_offsets end %lld is past the end of the data (%zu "
                       "bytes)",
                       path, name, (long long)range[1], st->data_size);
    }
    size_t nbytes;
    if (!rm_product(t->shape, t->ndim, &t->count) ||
        !rm_mul_size(t->count, rm_dtype_size(t->dtype), &nbytes)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': shape too large", path, name);
    }
    if (nbytes != (size_t)(range[1] - range[0])) {
        char s[160];
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s': %s %s needs %zu bytes but data_offsets [%lld, %lld] hold "
                       "%lld",
                       path, name, rm_dtype_name(t->dtype),
                       rm_st_format_shape(t->ndim, t->shape, s, sizeof s), nbytes,
                       (long long)range[0], (long long)range[1], (long long)(range[1] - range[0]));
    }
    t->nbytes = nbytes;
    t->data = st->data + range[0];
    return REPMLP_OK;
}

/* qsort has no context argument in C11, so the comparators see the tensor array through a
 * thread-local pointer, set just before each qsort: concurrent opens cannot interfere. */
static _Thread_local const rm_st_tensor *sort_tensors;

static int compare_by_begin(const void *a, const void *b) {
    const rm_st_tensor *x = &sort_tensors[*(const size_t *)a],
                       *y = &sort_tensors[*(const size_t *)b];
    const unsigned char *px = x->data, *py = y->data;
    if (px != py) return px < py ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int compare_by_name(const void *a, const void *b) {
    return strcmp(sort_tensors[*(const size_t *)a].name, sort_tensors[*(const size_t *)b].name);
}

static repmlp_status check_overlaps(rm_safetensors *st) {
    /* by_name doubles as scratch space here, before it is sorted by name. */
    for (size_t i = 0; i < st->count; i++) st->by_name[i] = i;
    sort_tensors = st->tensors;
    qsort(st->by_name, st->count, sizeof *st->by_name, compare_by_begin);
    const rm_st_tensor *prev = NULL; /* the non-empty range reaching furthest so far */
    for (size_t i = 0; i < st->count; i++) {
        const rm_st_tensor *t = &st->tensors[st->by_name[i]];
        if (t->nbytes == 0) continue; /* an empty range overlaps nothing */
        const unsigned char *begin = t->data;
        if (prev && begin < (const unsigned char *)prev->data + prev->nbytes) {
            return rm_fail(REPMLP_ERROR_FORMAT,
                           "%s: tensors '%s' and '%s' overlap in the data (bytes [%zu, %zu) and "
                           "[%zu, %zu))",
                           st->path, prev->name, t->name,
                           (size_t)((const unsigned char *)prev->data - st->data),
                           (size_t)((const unsigned char *)prev->data - st->data) + prev->nbytes,
                           (size_t)(begin - st->data), (size_t)(begin - st->data) + t->nbytes);
        }
        if (!prev || begin + t->nbytes > (const unsigned char *)prev->data + prev->nbytes) prev = t;
    }
    return REPMLP_OK;
}

static repmlp_status parse_header(rm_safetensors *st, const cJSON *root) {
    const char *path = st->path;
    if (!cJSON_IsObject(root)) {
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: header is not a JSON object", path);
    }
    const char *dup;
    repmlp_status status = rm_json_find_duplicate_key(root, path, &dup);
    if (status != REPMLP_OK) return status;
    if (dup) {
        if (strcmp(dup, "__metadata__") == 0) {
            return rm_fail(REPMLP_ERROR_FORMAT, "%s: __metadata__ appears twice", path);
        }
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' appears twice in the header", path,
                       dup);
    }
    size_t n = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") != 0) n++;
    }
    st->tensors = rm_calloc(n, sizeof *st->tensors);
    st->by_name = rm_calloc(n, sizeof *st->by_name);
    st->used = rm_calloc(n, sizeof *st->used);
    if (!st->tensors || !st->by_name || !st->used) return oom(path);
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            status = parse_metadata(st, it);
            if (status != REPMLP_OK) return status;
            continue;
        }
        rm_st_tensor *t = &st->tensors[st->count];
        status = parse_entry(st, it, t);
        if (status != REPMLP_OK) return status;
        t->name = rm_strdup(it->string);
        if (!t->name) return oom(path);
        st->count++;
    }
    status = check_overlaps(st);
    if (status != REPMLP_OK) return status;
    for (size_t i = 0; i < st->count; i++) st->by_name[i] = i;
    sort_tensors = st->tensors;
    qsort(st->by_name, st->count, sizeof *st->by_name, compare_by_name);
    return REPMLP_OK;
}

/* Validates `size` bytes at `bytes` (the mapping or the caller's memory) into st. */
static repmlp_status parse_bytes(rm_safetensors *st, const unsigned char *bytes, size_t size) {
    const char *path = st->path;
    if (size < 8) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: file is %zu bytes, too short for the 8-byte header length", path, size);
    }
    uint64_t header_len = load_u64(bytes);
    if (header_len > RM_ST_MAX_HEADER) {
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: header length %llu exceeds the %llu-byte limit",
                       path, (unsigned long long)header_len, (unsigned long long)RM_ST_MAX_HEADER);
    }
    if (header_len > size - 8) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: header length %llu runs past the end of the file (%zu bytes)", path,
                       (unsigned long long)header_len, size);
    }
    st->data = bytes + 8 + header_len;
    st->data_size = size - 8 - (size_t)header_len;

    cJSON *root;
    repmlp_status status = rm_json_parse((const char *)bytes + 8, (size_t)header_len, path, &root);
    if (status != REPMLP_OK) return status;
    status = parse_header(st, root);
    cJSON_Delete(root);
    return status;
}

/* Opens `path`'s mapping, or (data non-NULL) the caller's bytes under the name `path`. */
static repmlp_status open_st(const char *path, const void *data, size_t size,
                             rm_safetensors **out) {
    *out = NULL;
    rm_safetensors *st = rm_calloc(1, sizeof *st);
    if (!st) return oom(path);
    st->path = rm_strdup(path);
    if (!st->path) {
        rm_free(st);
        return oom(path);
    }
    repmlp_status status = REPMLP_OK;
    if (!data) {
        status = rm_file_map_open(path, &st->map);
        data = st->map.data;
        size = st->map.size;
    }
    if (status == REPMLP_OK) status = parse_bytes(st, data, size);
    if (status != REPMLP_OK) {
        rm_safetensors_close(st);
        return status;
    }
    *out = st;
    return REPMLP_OK;
}

repmlp_status rm_safetensors_open(const char *path, rm_safetensors **out) {
    return open_st(path, NULL, 0, out);
}

repmlp_status rm_safetensors_open_memory(const void *data, size_t size, const char *name,
                                         rm_safetensors **out) {
    /* An empty buffer still gets the "too short" message, not a map of the file `name`. */
    static const unsigned char empty[1];
    return open_st(name, data ? data : empty, data ? size : 0, out);
}

void rm_safetensors_close(rm_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->count; i++) rm_free((char *)st->tensors[i].name);
    for (size_t i = 0; i < st->meta_count; i++) {
        rm_free(st->meta_keys[i]);
        rm_free(st->meta_values[i]);
    }
    rm_free(st->meta_keys);
    rm_free(st->meta_values);
    rm_free(st->tensors);
    rm_free(st->by_name);
    rm_free(st->used);
    rm_file_map_close(&st->map);
    rm_free(st->path);
    rm_free(st);
}

const char *rm_safetensors_path(const rm_safetensors *st) {
    return st->path;
}

size_t rm_safetensors_count(const rm_safetensors *st) {
    return st->count;
}

const rm_st_tensor *rm_safetensors_tensor_at(const rm_safetensors *st, size_t i) {
    return i < st->count ? &st->tensors[i] : NULL;
}

const rm_st_tensor *rm_safetensors_find(const rm_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const rm_st_tensor *t = &st->tensors[st->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *rm_safetensors_metadata(const rm_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->meta_count; i++) {
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    }
    return NULL;
}

void rm_safetensors_mark_used(rm_safetensors *st, const rm_st_tensor *t) {
    st->used[t - st->tensors] = true;
}

const rm_st_tensor *rm_safetensors_first_unused(const rm_safetensors *st) {
    for (size_t i = 0; i < st->count; i++) {
        if (!st->used[i]) return &st->tensors[i];
    }
    return NULL;
}

static repmlp_status find_checked(rm_safetensors *st, const char *name, int ndim,
                                  const int64_t *expected_shape, const rm_st_tensor **out) {
    const rm_st_tensor *t = rm_safetensors_find(st, name);
    if (!t) return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is missing", st->path, name);
    if (!rm_dtype_is_float(t->dtype)) {
        return rm_fail(REPMLP_ERROR_FORMAT,
                       "%s: tensor '%s': dtype %s is not a float dtype (F32, F16, BF16, F64)",
                       st->path, name, rm_dtype_name(t->dtype));
    }
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == expected_shape[i];
    if (!same) {
        char want[160], got[160];
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': expected shape %s, got %s", st->path,
                       name, rm_st_format_shape(ndim, expected_shape, want, sizeof want),
                       rm_st_format_shape(t->ndim, t->shape, got, sizeof got));
    }
    *out = t;
    return REPMLP_OK;
}

repmlp_status rm_safetensors_read_f32(rm_safetensors *st, const char *name, int ndim,
                                      const int64_t *expected_shape, float **out) {
    *out = NULL;
    const rm_st_tensor *t;
    repmlp_status status = find_checked(st, name, ndim, expected_shape, &t);
    if (status != REPMLP_OK) return status;
    float *buf = rm_calloc(t->count, sizeof *buf);
    if (!buf)
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: tensor '%s': out of host memory",
                       st->path, name);
    rm_st_tensor_to_f32(t, buf);
    rm_safetensors_mark_used(st, t);
    *out = buf;
    return REPMLP_OK;
}

repmlp_status rm_safetensors_read_f64(rm_safetensors *st, const char *name, int ndim,
                                      const int64_t *expected_shape, double **out) {
    *out = NULL;
    const rm_st_tensor *t;
    repmlp_status status = find_checked(st, name, ndim, expected_shape, &t);
    if (status != REPMLP_OK) return status;
    double *buf = rm_calloc(t->count, sizeof *buf);
    if (!buf)
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: tensor '%s': out of host memory",
                       st->path, name);
    rm_st_tensor_to_f64(t, buf);
    rm_safetensors_mark_used(st, t);
    *out = buf;
    return REPMLP_OK;
}
