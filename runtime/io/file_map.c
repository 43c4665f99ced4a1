/* The only file of the library that talks to the operating system about files. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include "io/file_map.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <sys/stat.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* Distinguishes temporary names made by several writers of one process. */
static atomic_uint tmp_counter;

static const char *errno_text(int err, char *buf, size_t size) {
#ifdef _WIN32
    if (strerror_s(buf, size, err) != 0) snprintf(buf, size, "error %d", err);
#else
    /* XSI strerror_r: thread-safe, unlike strerror. */
    if (strerror_r(err, buf, size) != 0) snprintf(buf, size, "error %d", err);
#endif
    return buf;
}

static repmlp_status fail_errno(const char *path, const char *what, int err) {
    char text[128];
    return rm_fail(REPMLP_ERROR_IO, "%s: %s: %s", path, what, errno_text(err, text, sizeof text));
}

#ifdef _WIN32

static repmlp_status fail_win(const char *path, const char *what) {
    return rm_fail(REPMLP_ERROR_IO, "%s: %s (Windows error %lu)", path, what,
                   (unsigned long)GetLastError());
}

repmlp_status rm_file_map_open(const char *path, rm_file_map *map) {
    memset(map, 0, sizeof *map);
    HANDLE file = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                              OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) return fail_win(path, "cannot open");
    LARGE_INTEGER size;
    if (!GetFileSizeEx(file, &size)) {
        repmlp_status st = fail_win(path, "cannot get the file size");
        CloseHandle(file);
        return st;
    }
    if ((unsigned long long)size.QuadPart > SIZE_MAX) {
        CloseHandle(file);
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: file too large to map", path);
    }
    if (size.QuadPart == 0) {
        CloseHandle(file);
        return REPMLP_OK;
    }
    HANDLE mapping = CreateFileMappingA(file, NULL, PAGE_READONLY, 0, 0, NULL);
    CloseHandle(file); /* the mapping keeps the file open */
    if (!mapping) return fail_win(path, "cannot map");
    void *view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    if (!view) {
        repmlp_status st = fail_win(path, "cannot map");
        CloseHandle(mapping);
        return st;
    }
    map->data = view;
    map->size = (size_t)size.QuadPart;
    map->os_view = view;
    map->os_handle = mapping;
    return REPMLP_OK;
}

void rm_file_map_close(rm_file_map *map) {
    if (map->os_view) UnmapViewOfFile(map->os_view);
    if (map->os_handle) CloseHandle((HANDLE)map->os_handle);
    memset(map, 0, sizeof *map);
}

static int open_exclusive(const char *path) {
    return _open(path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY, _S_IREAD | _S_IWRITE);
}

static FILE *fd_to_file(int fd) {
    return _fdopen(fd, "wb");
}

static void close_fd(int fd) {
    _close(fd);
}

static int current_pid(void) {
    return _getpid();
}

static int sync_file(FILE *fp) {
    return _commit(_fileno(fp));
}

static int replace_file(const char *from, const char *to) {
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING)) return 0;
    errno = EACCES; /* the caller reports errno; Windows keeps its reason elsewhere */
    return -1;
}

#else

repmlp_status rm_file_map_open(const char *path, rm_file_map *map) {
    memset(map, 0, sizeof *map);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(path, "cannot open", errno);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return fail_errno(path, "cannot stat", err);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return rm_fail(REPMLP_ERROR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: file too large to map", path);
    }
    if (sb.st_size == 0) { /* mmap refuses length 0 */
        close(fd);
        return REPMLP_OK;
    }
    void *view = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd); /* the mapping keeps its own reference to the file */
    if (view == MAP_FAILED) return fail_errno(path, "cannot map", err);
    map->data = view;
    map->size = (size_t)sb.st_size;
    map->os_view = view;
    return REPMLP_OK;
}

void rm_file_map_close(rm_file_map *map) {
    if (map->os_view) munmap(map->os_view, map->size);
    memset(map, 0, sizeof *map);
}

static int open_exclusive(const char *path) {
    /* 0666 under the umask gives the result the permissions any new file would get. */
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
}

static FILE *fd_to_file(int fd) {
    return fdopen(fd, "wb");
}

static void close_fd(int fd) {
    close(fd);
}

static int current_pid(void) {
    return (int)getpid();
}

static int sync_file(FILE *fp) {
    return fsync(fileno(fp));
}

static int replace_file(const char *from, const char *to) {
    return rename(from, to);
}

#endif

static void file_out_release(rm_file_out *out) {
    rm_free(out->tmp_path);
    rm_free(out->path);
    memset(out, 0, sizeof *out);
}

repmlp_status rm_file_out_begin(const char *path, rm_file_out *out) {
    memset(out, 0, sizeof *out);
    size_t len = strlen(path);
    size_t cap;
    if (!rm_add_size(len, 64, &cap)) {
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: path too long", path);
    }
    out->path = rm_strdup(path);
    out->tmp_path = rm_malloc(cap);
    if (!out->path || !out->tmp_path) {
        file_out_release(out);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        snprintf(out->tmp_path, cap, "%s.tmp-%d-%u", path, current_pid(), n);
        int fd = open_exclusive(out->tmp_path);
        if (fd < 0) {
            if (errno == EEXIST) continue; /* a leftover of a crashed run: pick another */
            repmlp_status st = fail_errno(path, "cannot create a temporary file next to it", errno);
            file_out_release(out);
            return st;
        }
        out->fp = fd_to_file(fd);
        if (!out->fp) {
            repmlp_status st = fail_errno(out->tmp_path, "cannot open", errno);
            close_fd(fd);
            remove(out->tmp_path);
            file_out_release(out);
            return st;
        }
        return REPMLP_OK;
    }
    repmlp_status st =
        rm_fail(REPMLP_ERROR_IO, "%s: cannot create a temporary file next to it", path);
    file_out_release(out);
    return st;
}

repmlp_status rm_file_out_commit(rm_file_out *out) {
    repmlp_status st = REPMLP_OK;
    int err = 0;
    if (fflush(out->fp) != 0 || ferror(out->fp)) {
        err = errno;
        st = fail_errno(out->tmp_path, "cannot write", err);
    } else if (sync_file(out->fp) != 0) {
        err = errno;
        st = fail_errno(out->tmp_path, "cannot sync", err);
    }
    if (fclose(out->fp) != 0 && st == REPMLP_OK) {
        st = fail_errno(out->tmp_path, "cannot close", errno);
    }
    out->fp = NULL;
    if (st == REPMLP_OK && replace_file(out->tmp_path, out->path) != 0) {
        st = fail_errno(out->path, "cannot rename the temporary file into place", errno);
    }
    if (st != REPMLP_OK) remove(out->tmp_path);
    file_out_release(out);
    return st;
}

void rm_file_out_abort(rm_file_out *out) {
    if (out->fp) fclose(out->fp);
    if (out->tmp_path) remove(out->tmp_path);
    file_out_release(out);
}
