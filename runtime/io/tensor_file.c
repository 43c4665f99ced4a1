/* The public safetensors reader and writer (repmlp/tensor_file.h) over io/safetensors. */
#include "repmlp/tensor_file.h"

#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"

/* The handle is the reader itself. */
#define READER(file) ((rm_safetensors *)(file))

repmlp_status repmlp_tensor_file_open(const char *path, repmlp_tensor_file **out) {
    if (out) *out = NULL;
    if (!path || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_tensor_file_open: NULL argument");
    rm_safetensors *st = NULL;
    repmlp_status s = rm_safetensors_open(path, &st);
    if (s == REPMLP_OK) *out = (repmlp_tensor_file *)st;
    return s;
}

void repmlp_tensor_file_close(repmlp_tensor_file *file) {
    rm_safetensors_close(READER(file));
}

static bool is_integer(rm_dtype d) {
    return d == RM_DTYPE_I64 || d == RM_DTYPE_I32 || d == RM_DTYPE_I16 || d == RM_DTYPE_I8 ||
           d == RM_DTYPE_U8;
}

static repmlp_status find(const repmlp_tensor_file *file, const char *name,
                          const rm_st_tensor **out) {
    if (!file || !name)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_tensor_file: NULL argument");
    *out = rm_safetensors_find(READER(file), name);
    if (!*out)
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' is missing",
                       rm_safetensors_path(READER(file)), name);
    return REPMLP_OK;
}

repmlp_status repmlp_tensor_file_find(const repmlp_tensor_file *file, const char *name,
                                      repmlp_tensor_info *out) {
    const rm_st_tensor *t;
    if (!out) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_tensor_file: NULL argument");
    repmlp_status s = find(file, name, &t);
    if (s != REPMLP_OK) return s;
    memset(out, 0, sizeof *out);
    out->dtype = rm_dtype_name(t->dtype);
    out->is_float = rm_dtype_is_float(t->dtype);
    out->is_integer = is_integer(t->dtype);
    out->ndim = (uint32_t)t->ndim;
    memcpy(out->shape, t->shape, (size_t)t->ndim * sizeof *t->shape);
    out->count = t->count;
    return REPMLP_OK;
}

/* The tensor, checked to be of the dtype kind `kind` and to hold `count` elements. */
static repmlp_status checked(const repmlp_tensor_file *file, const char *name, const void *dst,
                             size_t count, bool want_float, const rm_st_tensor **t) {
    repmlp_status s = find(file, name, t);
    if (s != REPMLP_OK) return s;
    const char *path = rm_safetensors_path(READER(file));
    if (!dst && count)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_tensor_file: NULL argument");
    if (want_float ? !rm_dtype_is_float((*t)->dtype) : !is_integer((*t)->dtype))
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s': dtype %s is not %s", path, name,
                       rm_dtype_name((*t)->dtype),
                       want_float ? "a float dtype (F32, F16, BF16, F64)"
                                  : "an integer dtype (I64, I32, I16, I8, U8)");
    if ((*t)->count != count)
        return rm_fail(REPMLP_ERROR_FORMAT, "%s: tensor '%s' has %zu elements, not %zu", path, name,
                       (*t)->count, count);
    return REPMLP_OK;
}

repmlp_status repmlp_tensor_file_read_f32(const repmlp_tensor_file *file, const char *name,
                                          float *out, size_t count) {
    const rm_st_tensor *t;
    repmlp_status s = checked(file, name, out, count, true, &t);
    if (s == REPMLP_OK) rm_st_tensor_to_f32(t, out);
    return s;
}

repmlp_status repmlp_tensor_file_read_f64(const repmlp_tensor_file *file, const char *name,
                                          double *out, size_t count) {
    const rm_st_tensor *t;
    repmlp_status s = checked(file, name, out, count, true, &t);
    if (s == REPMLP_OK) rm_st_tensor_to_f64(t, out);
    return s;
}

repmlp_status repmlp_tensor_file_read_i64(const repmlp_tensor_file *file, const char *name,
                                          int64_t *out, size_t count) {
    const rm_st_tensor *t;
    repmlp_status s = checked(file, name, out, count, false, &t);
    if (s != REPMLP_OK) return s;
    /* Little-endian and unaligned in the file, whatever the host is. */
    const unsigned char *p = t->data;
    const size_t es = rm_dtype_size(t->dtype);
    for (size_t i = 0; i < count; i++) {
        uint64_t u = 0;
        for (size_t b = 0; b < es; b++) u |= (uint64_t)p[i * es + b] << (8 * b);
        if (t->dtype != RM_DTYPE_U8 && es < 8 && (u >> (8 * es - 1)) & 1)
            u |= ~(uint64_t)0 << (8 * es); /* sign-extend */
        out[i] = (int64_t)u;
    }
    return REPMLP_OK;
}

repmlp_status repmlp_tensor_file_write_f32(const char *path, const char *name, uint32_t ndim,
                                           const int64_t *shape, const float *data) {
    if (!path || !name || (ndim && !shape) || !data)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "repmlp_tensor_file_write_f32: NULL argument");
    if (ndim > REPMLP_TENSOR_MAX_DIMS)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: tensor '%s': %u dimensions, at most %d",
                       path, name, ndim, REPMLP_TENSOR_MAX_DIMS);
    rm_st_writer *w = NULL;
    repmlp_status s = rm_st_writer_create(&w);
    if (s == REPMLP_OK) s = rm_st_writer_add_f32(w, name, (int)ndim, shape, data);
    if (s == REPMLP_OK) s = rm_st_writer_write(w, path);
    rm_st_writer_destroy(w);
    return s;
}
