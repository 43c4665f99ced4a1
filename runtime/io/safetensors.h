/* Private: safetensors files (docs/MODELS.md §0.1), read by mapping and written atomically.
 *
 * Layout: 8-byte little-endian header length n, n bytes of JSON (may end in spaces), then the
 * data. Each tensor entry is {"dtype", "shape", "data_offsets": [begin, end)} with offsets
 * relative to the first data byte; "__metadata__" is an optional string -> string map.
 *
 * Every error is returned as a status with a one-line message (repmlp_last_error) that names
 * the file, and the tensor or metadata key where there is one. */
#ifndef RM_SAFETENSORS_H
#define RM_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repmlp/status.h"

#define RM_ST_MAX_DIMS 8
/* A header larger than this is refused before parsing (REPMLP_ERROR_TOO_LARGE). */
#define RM_ST_MAX_HEADER ((uint64_t)100 << 20)

/* X(enum suffix, name in the file, element size in bytes) */
#define RM_DTYPE_MAP(X)                                                                            \
    X(F64, "F64", 8)                                                                               \
    X(F32, "F32", 4)                                                                               \
    X(F16, "F16", 2)                                                                               \
    X(BF16, "BF16", 2)                                                                             \
    X(I64, "I64", 8)                                                                               \
    X(I32, "I32", 4)                                                                               \
    X(I16, "I16", 2)                                                                               \
    X(I8, "I8", 1)                                                                                 \
    X(U8, "U8", 1)                                                                                 \
    X(BOOL, "BOOL", 1)

typedef enum rm_dtype {
#define RM_DTYPE_ENUM_(id, name, size) RM_DTYPE_##id,
    RM_DTYPE_MAP(RM_DTYPE_ENUM_)
#undef RM_DTYPE_ENUM_
        RM_DTYPE_COUNT
} rm_dtype;

/* "F32" for RM_DTYPE_F32; "?" outside the table. */
const char *rm_dtype_name(rm_dtype dtype);
/* Bytes per element; 0 outside the table. */
size_t rm_dtype_size(rm_dtype dtype);
/* True for the dtypes rm_st_tensor_to_f32/_f64 convert: F64, F32, F16, BF16. */
bool rm_dtype_is_float(rm_dtype dtype);

typedef struct rm_st_tensor {
    const char *name;
    rm_dtype dtype;
    int ndim; /* 0 for a scalar (shape []) */
    int64_t shape[RM_ST_MAX_DIMS];
    size_t count;     /* number of elements (1 for a scalar) */
    size_t nbytes;    /* count * element size == end - begin */
    const void *data; /* inside the mapping: NOT aligned, read through memcpy only */
} rm_st_tensor;

/* ---- reader ---- */

typedef struct rm_safetensors rm_safetensors;

/* Maps and fully validates `path`: header size and cap, JSON, every entry (dtype known,
 * shape of at most 8 non-negative exact integers, offsets ordered and inside the data, byte
 * size consistent with shape and dtype, overflow-checked), no two ranges overlap, no name
 * repeated, __metadata__ a string -> string object. Statuses: REPMLP_ERROR_IO (open/map),
 * REPMLP_ERROR_FORMAT (malformed), REPMLP_ERROR_TOO_LARGE (header over the cap),
 * REPMLP_ERROR_OUT_OF_HOST_MEMORY. *out is NULL on failure. */
repmlp_status rm_safetensors_open(const char *path, rm_safetensors **out);

/* The same checks on `size` bytes at `data`, which are borrowed, not copied: they must stay
 * unchanged until rm_safetensors_close. `name` stands for the file in messages. */
repmlp_status rm_safetensors_open_memory(const void *data, size_t size, const char *name,
                                         rm_safetensors **out);

/* Unmaps and frees; NULL is fine. Tensor pointers die with it. */
void rm_safetensors_close(rm_safetensors *st);

const char *rm_safetensors_path(const rm_safetensors *st);
size_t rm_safetensors_count(const rm_safetensors *st);
/* Tensors in header order; i < count. */
const rm_st_tensor *rm_safetensors_tensor_at(const rm_safetensors *st, size_t i);
/* NULL when absent (no error recorded). */
const rm_st_tensor *rm_safetensors_find(const rm_safetensors *st, const char *name);
/* The __metadata__ value of key, or NULL when absent. */
const char *rm_safetensors_metadata(const rm_safetensors *st, const char *key);

/* Consumption marks, for the "every tensor must be used" check of a fuser or loader: each
 * successful rm_safetensors_read_* marks its tensor; others can be marked by hand. */
void rm_safetensors_mark_used(rm_safetensors *st, const rm_st_tensor *t);
/* The first tensor (header order) never marked, or NULL. */
const rm_st_tensor *rm_safetensors_first_unused(const rm_safetensors *st);

/* Converts a float tensor (F64, F32, F16 incl. subnormals/inf/nan, BF16) into dst[count].
 * F64 -> F32 rounds to nearest. Returns false (nothing written) for other dtypes. */
bool rm_st_tensor_to_f32(const rm_st_tensor *t, float *dst);
bool rm_st_tensor_to_f64(const rm_st_tensor *t, double *dst);

/* Finds `name`, checks it is a float dtype and has exactly the expected shape, and returns a
 * rm_malloc'd converted copy in *out (the caller rm_frees it); marks the tensor used.
 * Errors (REPMLP_ERROR_FORMAT), one line each:
 *   "<file>: tensor '<name>' is missing"
 *   "<file>: tensor '<name>': dtype I32 is not a float dtype (F32, F16, BF16, F64)"
 *   "<file>: tensor '<name>': expected shape (a, b), got (c, d)" */
repmlp_status rm_safetensors_read_f32(rm_safetensors *st, const char *name, int ndim,
                                      const int64_t *expected_shape, float **out);
repmlp_status rm_safetensors_read_f64(rm_safetensors *st, const char *name, int ndim,
                                      const int64_t *expected_shape, double **out);

/* Formats a shape as "(a, b, c)" ("()" for a scalar) into buf; returns buf. */
const char *rm_st_format_shape(int ndim, const int64_t *shape, char *buf, size_t size);

/* ---- writer ---- */

typedef struct rm_st_writer rm_st_writer;

repmlp_status rm_st_writer_create(rm_st_writer **out);
/* Frees the writer and every buffer it owns; NULL is fine. */
void rm_st_writer_destroy(rm_st_writer *w);

/* Adds or replaces a __metadata__ entry (both strings copied). */
repmlp_status rm_st_writer_set_metadata(rm_st_writer *w, const char *key, const char *value);

/* Adds a tensor, COPYING `data` (count * element size bytes, native little-endian layout).
 * Errors (REPMLP_ERROR_INVALID_ARGUMENT): name empty, "__metadata__" or already added,
 * ndim outside 0..8, negative dimension, size overflow. */
repmlp_status rm_st_writer_add(rm_st_writer *w, const char *name, rm_dtype dtype, int ndim,
                               const int64_t *shape, const void *data);
repmlp_status rm_st_writer_add_f32(rm_st_writer *w, const char *name, int ndim,
                                   const int64_t *shape, const float *data);
/* Like rm_st_writer_add but TAKES OWNERSHIP of the rm_malloc'd buffer `data` (no copy),
 * which is freed by the writer, also when this call fails. */
repmlp_status rm_st_writer_add_take(rm_st_writer *w, const char *name, rm_dtype dtype, int ndim,
                                    const int64_t *shape, void *data);

/* Writes everything to `path` via "<path>.tmp-*" in the same directory, renamed into place
 * only once complete: on any failure no temporary file remains and `path` is untouched.
 * The header is padded with spaces so the data starts 8-byte aligned, and tensors are laid
 * out by decreasing element size so each one is aligned to its element size without gaps.
 * The writer stays usable (it can be written again). */
repmlp_status rm_st_writer_write(const rm_st_writer *w, const char *path);

/* The same bytes as rm_st_writer_write into one rm_malloc'd buffer (*data, *size); `name`
 * stands for the file in messages. */
repmlp_status rm_st_writer_write_memory(const rm_st_writer *w, const char *name, void **data,
                                        size_t *size);

#endif
