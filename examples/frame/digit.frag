#version 450
// The digit texture, gray, on an opaque quad.
layout(binding = 0) uniform sampler2D digit;
layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 color;

void main() {
    color = vec4(texture(digit, uv).rgb, 1.0);
}
