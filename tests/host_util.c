#define _POSIX_C_SOURCE 200809L
#include "host_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"

char *hu_tmpdir(const char *name) {
    size_t n = strlen(REPMLP_BINARY_DIR) + strlen(name) + 32;
    char *dir = malloc(n);
    assert_non_null(dir);
    snprintf(dir, n, "%s/tmp-%s-XXXXXX", REPMLP_BINARY_DIR, name);
    if (!mkdtemp(dir)) fail_msg("cannot create a scratch directory %s", dir);
    return dir;
}

void hu_tmpdir_remove(char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

const char *hu_path(const char *dir, const char *name) {
    static char slots[32][1024];
    static unsigned next;
    char *buf = slots[next++ % 32];
    snprintf(buf, sizeof slots[0], "%s/%s", dir, name);
    return buf;
}

size_t hu_count_files(const char *dir) {
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
}

bool hu_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

void hu_write_file(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) fail_msg("cannot create %s", path);
    if (n) assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

void hu_write_st(const char *path, const char *header, const void *data, size_t n) {
    size_t hlen = strlen(header), total = 8 + hlen + n;
    unsigned char *buf = malloc(total);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (n) memcpy(buf + 8 + hlen, data, n);
    hu_write_file(path, buf, total);
    free(buf);
}

char *hu_read_file(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size >= 0);
    rewind(fp);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    buf[size] = '\0';
    fclose(fp);
    if (n) *n = (size_t)size;
    return buf;
}

void hu_expect_error(repmlp_status got, repmlp_status want, const char *const *needles) {
    const char *msg = repmlp_last_error();
    if (got != want) {
        fail_msg("expected %s, got %s (message: %s)", repmlp_status_name(want),
                 repmlp_status_name(got), msg);
    }
    if (strchr(msg, '\n')) fail_msg("message is not one line: %s", msg);
    for (const char *const *n = needles; *n; n++) {
        if (!strstr(msg, *n)) fail_msg("message lacks \"%s\": %s", *n, msg);
    }
}

void hu_expect_ok(repmlp_status got) {
    if (got != REPMLP_OK) {
        fail_msg("expected success, got %s: %s", repmlp_status_name(got), repmlp_last_error());
    }
}

double hu_uniform(uint64_t *state, double lo, double hi) {
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    double u = (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    return lo + (hi - lo) * u;
}

void hu_copy_st(const char *src, const char *dst, const char *prefix, const hu_edit *e,
                const char *extra_name) {
    rm_safetensors *st = NULL;
    rm_st_writer *w = NULL;
    char name[512];
    bool edited = false;
    hu_expect_ok(rm_safetensors_open(src, &st));
    hu_expect_ok(rm_st_writer_create(&w));
    for (size_t i = 0; i < rm_safetensors_count(st); i++) {
        const rm_st_tensor *t = rm_safetensors_tensor_at(st, i);
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        if (e && strcmp(e->name, t->name) == 0) {
            edited = true;
            if (e->ndim < 0) continue;
            hu_expect_ok(rm_st_writer_add(w, name, (rm_dtype)e->dtype, e->ndim, e->shape, e->data));
            continue;
        }
        hu_expect_ok(rm_st_writer_add(w, name, t->dtype, t->ndim, t->shape, t->data));
    }
    if (e && !edited && e->ndim >= 0) {
        snprintf(name, sizeof name, "%s%s", prefix, e->name);
        hu_expect_ok(rm_st_writer_add(w, name, (rm_dtype)e->dtype, e->ndim, e->shape, e->data));
    }
    if (extra_name) {
        const float one = 1.0f;
        hu_expect_ok(rm_st_writer_add_f32(w, extra_name, 1, (int64_t[]){1}, &one));
    }
    hu_expect_ok(rm_st_writer_write(w, dst));
    rm_st_writer_destroy(w);
    rm_safetensors_close(st);
}

int hu_run_tool(const char *tool, const char *const *args, const char *scratch_dir, char **err,
                char **out) {
    char err_path[1100], out_path[1100];
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", scratch_dir);
    if (out)
        snprintf(out_path, sizeof out_path, "%s/stdout.txt", scratch_dir);
    else
        snprintf(out_path, sizeof out_path, "/dev/null");
    /* A cross build's tools run through its emulator, as the test itself does. */
    const char *emulator = REPMLP_TOOL_EMULATOR;
    char *argv[33];
    int n = 0;
    if (*emulator) argv[n++] = (char *)emulator;
    argv[n++] = (char *)tool;
    for (const char *const *a = args; *a && n < 32; a++) argv[n++] = (char *)*a;
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e < 0 || o < 0 || dup2(e, 2) < 0 || dup2(o, 1) < 0) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    free(*err);
    *err = hu_read_file(err_path, NULL);
    remove(err_path);
    if (out) {
        free(*out);
        *out = hu_read_file(out_path, NULL);
        remove(out_path);
    }
    return WEXITSTATUS(status);
}
