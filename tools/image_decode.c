/* stb_image's implementation, compiled here once, and the small wrapper of image_decode.h.
 * The file is read through the library's file mapping (so open errors read like every other
 * one); stb_image only decodes memory. Decoders limited to the common still-image formats. */
#include "image_decode.h"

#include <limits.h>
#include <stdio.h>

#include "io/file_map.h"
#include "repmlp.h"

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

int rm_image_load(const char *path, int channels, unsigned char **pixels, int *width, int *height,
                  char *err, size_t err_size) {
    *pixels = NULL;
    rm_file_map map;
    if (rm_file_map_open(path, &map) != REPMLP_OK) {
        snprintf(err, err_size, "%s", repmlp_last_error());
        return -1;
    }
    if (map.size == 0 || map.size > INT_MAX) {
        snprintf(err, err_size, "%s: cannot decode image: %s", path,
                 map.size ? "file too large" : "empty file");
        rm_file_map_close(&map);
        return -1;
    }
    int w = 0, h = 0, in_file = 0;
    *pixels = stbi_load_from_memory(map.data, (int)map.size, &w, &h, &in_file, channels);
    rm_file_map_close(&map);
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
