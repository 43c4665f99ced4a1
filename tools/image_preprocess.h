/* The host side of a model's image preprocessing (repmlp_preprocess): what repmlp-run --image
 * does to decoded pixels, and the reference the device path (repmlp_session_bind_image) is
 * tested against. */
#ifndef RM_IMAGE_PREPROCESS_H
#define RM_IMAGE_PREPROCESS_H

#include "repmlp.h"

/* px: w x h pixels of p->channels interleaved 8-bit values (gray, or RGB) -> out: the model's
 * input for the picture, channels x input_h x input_w floats. Returns 0, or -1 when out of
 * memory. */
int rm_image_preprocess(const unsigned char *px, int w, int h, const repmlp_preprocess *p,
                        float *out);

#endif
