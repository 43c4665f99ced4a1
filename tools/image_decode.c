/* stb_image's implementation, compiled here once, and the small wrapper of image_decode.h.
 * The file is read whole with stdio (open errors read "<file>: cannot open: <reason>" as the
 * library's do); stb_image only decodes memory. Decoders limited to the common still-image
 * formats. */
#include "image_decode.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_MAX_DIMENSIONS 16384
#include <stb/stb_image.h>

/* The whole file into *data (malloc'd, *size bytes); a message in err otherwise. */
static int read_file(const char *path, unsigned char **data, size_t *size, char *err,
                     size_t err_size) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len == 0 || len > INT_MAX) {
        snprintf(err, err_size, "%s: cannot decode image: %s", path,
                 len ? "file too large" : "empty file");
    } else if (len < 0 || fseek(f, 0, SEEK_SET) != 0 || !(*data = malloc((size_t)len)) ||
               fread(*data, 1, (size_t)len, f) != (size_t)len) {
        snprintf(err, err_size, "%s: cannot read: %s", path, *data ? "read failed" : "no memory");
        free(*data);
        *data = NULL;
    }
    fclose(f);
    *size = (size_t)len;
    return *data ? 0 : -1;
}

int rm_image_load(const char *path, int channels, unsigned char **pixels, int *width, int *height,
                  char *err, size_t err_size) {
    *pixels = NULL;
    unsigned char *data;
    size_t size;
    if (read_file(path, &data, &size, err, err_size)) return -1;
    int w = 0, h = 0, in_file = 0;
    *pixels = stbi_load_from_memory(data, (int)size, &w, &h, &in_file, channels);
    free(data);
    if (!*pixels) {
        const char *why = stbi_failure_reason();
        snprintf(err, err_size, "%s: cannot decode image: %s", path, why ? why : "unknown format");
        return -1;
    }
    *width = w;
    *height = h;
    return 0;
}

void rm_image_free(unsigned char *pixels) {
    stbi_image_free(pixels);
}
