/** @file
 * repmlp-vk, experimental tier: reading and writing safetensors files of inputs, labels and
 * outputs (what repmlp-run reads with --input, --eval and --expect and writes with --output).
 * Models are loaded with repmlp/model.h. Define REPMLP_EXPERIMENTAL before including this
 * header (docs/API.md): what it declares may change in any release. */
#ifndef REPMLP_TENSOR_FILE_H
#define REPMLP_TENSOR_FILE_H

#if !defined(REPMLP_EXPERIMENTAL)
#error "repmlp/tensor_file.h is experimental: define REPMLP_EXPERIMENTAL before including it"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repmlp/export.h"
#include "repmlp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open safetensors file (opaque). */
typedef struct repmlp_tensor_file repmlp_tensor_file;

/** The most dimensions of a tensor in a repmlp_tensor_file. */
#define REPMLP_TENSOR_MAX_DIMS 8

/** One tensor of an open file. */
typedef struct repmlp_tensor_info {
    const char *dtype; /**< "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL" */
    bool is_float;     /**< F64, F32, F16 or BF16 */
    bool is_integer;   /**< I64, I32, I16, I8 or U8 */
    uint32_t ndim;     /**< 0 for a scalar */
    int64_t shape[REPMLP_TENSOR_MAX_DIMS]; /**< ndim sizes, outermost first */
    size_t count;                          /**< elements (1 for a scalar) */
} repmlp_tensor_info;

/** Opens and validates a safetensors file (header, every entry, no overlaps). Errors:
 * REPMLP_ERROR_IO (cannot open), REPMLP_ERROR_FORMAT (malformed), REPMLP_ERROR_TOO_LARGE
 * (header over 100 MiB), each naming the file. *out is NULL on failure. */
REPMLP_API repmlp_status repmlp_tensor_file_open(const char *path, repmlp_tensor_file **out);
/** Closes the file; NULL is fine. */
REPMLP_API void repmlp_tensor_file_close(repmlp_tensor_file *file);

/** Tensor `name`: REPMLP_ERROR_FORMAT "<file>: tensor '<name>' is missing" when absent. The
 * dtype string lives as long as the program. */
REPMLP_API repmlp_status repmlp_tensor_file_find(const repmlp_tensor_file *file, const char *name,
                                                 repmlp_tensor_info *out);

/** Tensor `name` converted into out[count] (count must be its element count): a float dtype
 * to float (F64 rounds to nearest). Errors (REPMLP_ERROR_FORMAT, naming file and tensor):
 * missing, wrong dtype kind, other count. */
REPMLP_API repmlp_status repmlp_tensor_file_read_f32(const repmlp_tensor_file *file,
                                                     const char *name, float *out, size_t count);
/** The same for a float dtype to double. */
REPMLP_API repmlp_status repmlp_tensor_file_read_f64(const repmlp_tensor_file *file,
                                                     const char *name, double *out, size_t count);
/** The same for an integer dtype to int64_t. */
REPMLP_API repmlp_status repmlp_tensor_file_read_i64(const repmlp_tensor_file *file,
                                                     const char *name, int64_t *out, size_t count);

/** Writes a file holding one F32 tensor `name` of `shape` (ndim <= REPMLP_TENSOR_MAX_DIMS)
 * through a temporary file renamed into place: on failure `path` is untouched. */
REPMLP_API repmlp_status repmlp_tensor_file_write_f32(const char *path, const char *name,
                                                      uint32_t ndim, const int64_t *shape,
                                                      const float *data);

#ifdef __cplusplus
}
#endif

#endif
