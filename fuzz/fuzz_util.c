#define _POSIX_C_SOURCE 200809L
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *fuzz_write_input(const uint8_t *data, size_t size) {
    static char path[256];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/repmlp-fuzz-%d.safetensors", dir ? dir : "/tmp",
                 (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, size, 1, f) != 1) abort();
    fclose(f);
    return path;
}
