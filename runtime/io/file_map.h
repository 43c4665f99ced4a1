/* Private: read-only mapping of a whole file, and atomic replacement of an output file.
 * All operating-system file calls of the library live in file_map.c, so a port touches one
 * file. Every error message names the file. */
#ifndef RM_FILE_MAP_H
#define RM_FILE_MAP_H

#include <stddef.h>
#include <stdio.h>

#include "repmlp/status.h"

typedef struct rm_file_map {
    const unsigned char *data; /* NULL when size == 0: an empty file maps to nothing */
    size_t size;
    void *os_view;   /* platform: mapped view (POSIX: same as data) */
    void *os_handle; /* platform: Windows mapping handle; unused on POSIX */
} rm_file_map;

/* Maps the regular file `path` read-only. On failure *map is zeroed and the status is
 * REPMLP_ERROR_IO ("<path>: cannot open: <reason>"). The bytes stay valid until
 * rm_file_map_close, even if the file is replaced on disk (POSIX keeps the old inode). */
repmlp_status rm_file_map_open(const char *path, rm_file_map *map);

/* Unmaps; accepts a zeroed or already-closed map. */
void rm_file_map_close(rm_file_map *map);

/* An output file written under a temporary name next to its final path and renamed into
 * place only when complete, so a failure never leaves a partial or stale-looking result. */
typedef struct rm_file_out {
    FILE *fp;
    char *tmp_path; /* rm_malloc'd "<path>.tmp-<pid>-<n>" */
    char *path;     /* rm_malloc'd final path */
} rm_file_out;

/* Creates "<path>.tmp-*" (exclusively, honouring the umask) and opens it for writing. */
repmlp_status rm_file_out_begin(const char *path, rm_file_out *out);

/* Flushes, syncs and closes the temporary file and renames it over `path`. On failure the
 * temporary file is removed. Either way *out is released. */
repmlp_status rm_file_out_commit(rm_file_out *out);

/* Closes and removes the temporary file; accepts a zeroed or released *out. */
void rm_file_out_abort(rm_file_out *out);

#endif
