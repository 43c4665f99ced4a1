#version 450
// A picture bound as a sampled image becomes the model's input (channels x IN_H x IN_W), as
// the host path does (repmlp_preprocessing, tools/image_preprocess.c): each texel's 8-bit value
// is recovered (an sRGB view's texels are re-encoded: sampling linearised them), 1-channel
// models take stb_image's integer luminance (77 R + 150 G + 29 B) >> 8, a value v becomes
// lo + v * scale, the picture is area-averaged to SRC_H x SRC_W unless it has that size, then
// normalised per channel, then resized bilinearly (align_corners=False) to IN_H x IN_W.
// One invocation per output element.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 3) const uint CHANNELS = 1;
layout(constant_id = 4) const uint SRGB = 0;
layout(constant_id = 5) const uint SRC_H = 1;
layout(constant_id = 6) const uint SRC_W = 1;
layout(constant_id = 7) const uint IN_H = 1;
layout(constant_id = 8) const uint IN_W = 1;

layout(binding = 0) uniform sampler2D picture;
layout(std430, binding = 1) writeonly buffer Output {
    float y[];
};

layout(push_constant) uniform Push {
    uint width, height; // the picture's size
    float lo, scale;    // scale = (hi - lo) / 255
    float mean0, mean1, mean2;
    float inv_std0, inv_std1, inv_std2;
}
p;

float srgb_encode(float l) {
    return l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1.0 / 2.4) - 0.055;
}

// The 8-bit value of channel c of texel (x, y), as the host decoder gives it.
float byte_value(uint c, uint x, uint y) {
    vec4 t = texelFetch(picture, ivec2(x, y), 0);
    if (SRGB != 0) t.rgb = vec3(srgb_encode(t.r), srgb_encode(t.g), srgb_encode(t.b));
    uvec3 b = uvec3(round(clamp(t.rgb, 0.0, 1.0) * 255.0));
    if (CHANNELS == 1) return float((b.r * 77u + b.g * 150u + b.b * 29u) >> 8);
    return float(b[c]);
}

// The normalised source-grid value at (sx, sy): the area average of the picture over the
// source pixel's footprint (the texel itself when the sizes agree).
float source_value(uint c, uint sx, uint sy) {
    float v;
    if (p.width == SRC_W && p.height == SRC_H) {
        v = p.lo + byte_value(c, sx, sy) * p.scale;
    } else {
        float y0 = float(sy) * float(p.height) / float(SRC_H);
        float y1 = float(sy + 1) * float(p.height) / float(SRC_H);
        float x0 = float(sx) * float(p.width) / float(SRC_W);
        float x1 = float(sx + 1) * float(p.width) / float(SRC_W);
        float sum = 0.0, area = 0.0;
        for (uint py = uint(y0); py < p.height && float(py) < y1; py++) {
            float wy = min(y1, float(py) + 1.0) - max(y0, float(py));
            if (wy <= 0.0) continue;
            for (uint px = uint(x0); px < p.width && float(px) < x1; px++) {
                float wx = min(x1, float(px) + 1.0) - max(x0, float(px));
                if (wx <= 0.0) continue;
                sum += wy * wx * (p.lo + byte_value(c, px, py) * p.scale);
                area += wy * wx;
            }
        }
        v = area > 0.0 ? sum / area : 0.0;
    }
    float mean = c == 0 ? p.mean0 : c == 1 ? p.mean1 : p.mean2;
    float inv_std = c == 0 ? p.inv_std0 : c == 1 ? p.inv_std1 : p.inv_std2;
    return (v - mean) * inv_std;
}

void main() {
    uint i = flat_invocation();
    if (i >= CHANNELS * IN_H * IN_W) return;
    uint c = i / (IN_H * IN_W), oy = i / IN_W % IN_H, ox = i % IN_W;
    if (SRC_H == IN_H && SRC_W == IN_W) {
        y[i] = source_value(c, ox, oy);
        return;
    }
    float fy = max((float(oy) + 0.5) * (float(SRC_H) / float(IN_H)) - 0.5, 0.0);
    float fx = max((float(ox) + 0.5) * (float(SRC_W) / float(IN_W)) - 0.5, 0.0);
    uint y0 = uint(fy), x0 = uint(fx);
    uint y1 = y0 + (y0 < SRC_H - 1 ? 1u : 0u), x1 = x0 + (x0 < SRC_W - 1 ? 1u : 0u);
    float ly = fy - float(y0), lx = fx - float(x0);
    y[i] = (1.0 - ly) * ((1.0 - lx) * source_value(c, x0, y0) + lx * source_value(c, x1, y0)) +
           ly * ((1.0 - lx) * source_value(c, x0, y1) + lx * source_value(c, x1, y1));
}
