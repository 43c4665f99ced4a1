#version 450
// A textured quad, rotated, scaled and moved per frame by push constants; 4 vertices as a
// triangle strip, no vertex buffer.
layout(push_constant) uniform Push {
    float angle, scale, dx, dy;
}
p;
layout(location = 0) out vec2 uv;

void main() {
    vec2 corner = vec2(gl_VertexIndex & 1, gl_VertexIndex >> 1);
    uv = corner;
    vec2 q = (corner * 2.0 - 1.0) * p.scale;
    float c = cos(p.angle), s = sin(p.angle);
    gl_Position = vec4(c * q.x - s * q.y + p.dx, s * q.x + c * q.y + p.dy, 0.0, 1.0);
}
