/* Image decoding for repmlp-run --image: PNG, JPEG, BMP and PNM files to 8-bit pixels, through
 * stb_image (Debian's libstb-dev; its implementation is compiled once, in image_decode.c). */
#ifndef RM_IMAGE_DECODE_H
#define RM_IMAGE_DECODE_H

#include <stddef.h>

/* Decodes `path` into *pixels (row-major, `channels` interleaved bytes per pixel, 1 = gray or
 * 3 = RGB, converted as needed; free with rm_image_free) and its size. Returns 0, or -1 with a
 * one-line message naming the file in err. */
int rm_image_load(const char *path, int channels, unsigned char **pixels, int *width, int *height,
                  char *err, size_t err_size);
void rm_image_free(unsigned char *pixels);

#endif
