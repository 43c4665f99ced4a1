/* Helpers for the host-only tests (safetensors, config, fuser): scratch directories under the
 * build tree, writing raw files, and checking error statuses and messages. POSIX only. */
#ifndef HOST_UTIL_H
#define HOST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "repmlp/status.h"
#include "test_support.h" /* ts_skip, ts_exit_code */

/* Creates REPMLP_BINARY_DIR/tmp-<name>-XXXXXX and returns its path (malloc'd). */
char *hu_tmpdir(const char *name);
/* Removes the plain files in dir and dir itself; frees dir. */
void hu_tmpdir_remove(char *dir);
/* dir + "/" + name, in static storage rotating over 32 slots: valid for 32 calls. */
const char *hu_path(const char *dir, const char *name);
size_t hu_count_files(const char *dir);
bool hu_exists(const char *path);

void hu_write_file(const char *path, const void *data, size_t n);
/* A safetensors file: 8-byte LE length of header, header, then data. */
void hu_write_st(const char *path, const char *header, const void *data, size_t n);
/* Reads a whole file (malloc'd, NUL-terminated); *n gets its size. */
char *hu_read_file(const char *path, size_t *n);

/* Runs `tool` with args (NULL-terminated, without argv[0]) and returns its exit status.
 * Its stderr and, when out is non-NULL, stdout are captured through files in scratch_dir and
 * returned in *err / *out (malloc'd; previous contents freed). */
int hu_run_tool(const char *tool, const char *const *args, const char *scratch_dir, char **err,
                char **out);

/* Fails unless got == want and the last error message is one line containing every string of
 * the NULL-terminated list `needles`. */
void hu_expect_error(repmlp_status got, repmlp_status want, const char *const *needles);
#define HU_EXPECT_ERROR(call, want, ...)                                                           \
    hu_expect_error((call), (want), (const char *const[]){__VA_ARGS__, NULL})
/* Fails with the last error message unless got == REPMLP_OK. */
void hu_expect_ok(repmlp_status got);

/* A change made while copying a safetensors file: tensor `name` (unprefixed) is replaced by
 * the given one, added if absent, or dropped when ndim < 0. */
typedef struct hu_edit {
    const char *name;
    int dtype; /* rm_dtype */
    int ndim;
    int64_t shape[4];
    const void *data;
} hu_edit;
/* Copies src to dst with every name prefixed, applying `edit` (may be NULL) and adding an F32
 * tensor of shape (1) named `extra_name` (may be NULL). */
void hu_copy_st(const char *src, const char *dst, const char *prefix, const hu_edit *edit,
                const char *extra_name);

/* Deterministic uniform numbers in [lo, hi) (xorshift64*). */
double hu_uniform(uint64_t *state, double lo, double hi);

#endif
