#include "model/weights_q8.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

uint64_t rm_q8_blocks(uint64_t K, uint32_t block) {
    return block ? (K + block - 1) / block : 0;
}

uint16_t rm_q8_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* 65520 and up round to inf */
    if (a <= 0x33000000u) return (uint16_t)sign;             /* 2^-25 and below round to 0 */
    uint32_t e = a >> 23, mant = (a & 0x7fffffu) | 0x800000u, h, rem, half;
    if (e < 113) { /* a subnormal half: units of 2^-24 */
        uint32_t shift = 126 - e;
        h = mant >> shift;
        rem = mant & ((1u << shift) - 1);
        half = 1u << (shift - 1);
    } else {
        h = ((e - 112) << 10) | ((mant >> 13) & 0x3ffu);
        rem = mant & 0x1fffu;
        half = 0x1000u;
    }
    if (rem > half || (rem == half && (h & 1))) h++; /* a carry moves into the exponent */
    return (uint16_t)(sign | h);
}

float rm_q8_f16_to_f32(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v = e == 0    ? ldexpf((float)m, -24)
              : e == 31 ? (m ? NAN : INFINITY)
                        : ldexpf((float)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

static float round_scale(double amax, bool f16_scales) {
    float s = (float)(amax / 127.0);
    if (!f16_scales) return s;
    float r = rm_q8_f16_to_f32(rm_q8_f32_to_f16(s));
    return r > 0 ? r : ldexpf(1.0f, -24); /* a tiny block keeps a usable scale */
}

bool rm_q8_quantize(const double *x, uint64_t rows, uint64_t K, uint32_t block, bool f16_scales,
                    int8_t *q, float *scales) {
    uint64_t blocks = rm_q8_blocks(K, block);
    for (uint64_t r = 0; r < rows; r++) {
        for (uint64_t b = 0; b < blocks; b++) {
            uint64_t k0 = b * block, k1 = k0 + block < K ? k0 + block : K;
            const double *row = x + r * K;
            double amax = 0;
            for (uint64_t k = k0; k < k1; k++) amax = fmax(amax, fabs(row[k]));
            float s = amax > 0 ? round_scale(amax, f16_scales) : 0.0f;
            if (!isfinite(s) || (f16_scales && s > 65504.0f)) return false;
            scales[r * blocks + b] = s;
            for (uint64_t k = k0; k < k1; k++) {
                double v = s > 0 ? nearbyint(row[k] / s) : 0.0;
                q[r * K + k] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            }
        }
    }
    return true;
}

repmlp_status rm_q8_dequantize(const void *q, const void *scales_f16, uint64_t rows, uint64_t K,
                               uint32_t block, const char *where, const char *name, float *out) {
    const unsigned char *qb = q, *sb = scales_f16;
    uint64_t blocks = rm_q8_blocks(K, block);
    for (uint64_t r = 0; r < rows; r++) {
        for (uint64_t b = 0; b < blocks; b++) {
            uint16_t bits;
            memcpy(&bits, sb + 2 * (r * blocks + b), sizeof bits);
            float s = rm_q8_f16_to_f32(bits);
            uint64_t k0 = b * block, k1 = k0 + block < K ? k0 + block : K;
            bool any = false;
            for (uint64_t k = k0; k < k1; k++) {
                int8_t v = (int8_t)qb[r * K + k];
                if (v == -128)
                    return rm_fail(REPMLP_ERROR_FORMAT,
                                   "%s: tensor '%s': row %llu column %llu is -128 (8-bit weights "
                                   "are symmetric, -127..127)",
                                   where, name, (unsigned long long)r, (unsigned long long)k);
                any |= v != 0;
                out[r * K + k] = (float)v * s;
            }
            if (!isfinite(s) || s < 0 || (s == 0 && any))
                return rm_fail(REPMLP_ERROR_FORMAT,
                               "%s: tensor '%s%s': row %llu block %llu: scale %g is not usable "
                               "(finite, positive; zero only for a block of zeros)",
                               where, name, RM_Q8_SCALE_SUFFIX, (unsigned long long)r,
                               (unsigned long long)b, (double)s);
        }
    }
    return REPMLP_OK;
}
