// Index maps (runtime/ops/ops.h, rm_index_map): i is split into mixed-radix digits
// d0 = i % r0, d1 = (i / r0) % r1, ... (a radix of 0 ends the split; the last digit is
// unbounded) and lands at sum(d_k * s_k). Radices and strides are specialization constants,
// so the divisions compile to multiplies (where the driver folds them: see map_step).

// The digits (d0, d1, d2, d3) of i.
uvec4 map_digits(uint i, uint r0, uint r1, uint r2) {
    if (r0 == 0) return uvec4(i, 0, 0, 0);
    uint d0 = i % r0;
    i /= r0;
    if (r1 == 0) return uvec4(d0, i, 0, 0);
    uint d1 = i % r1;
    i /= r1;
    if (r2 == 0) return uvec4(d0, d1, i, 0);
    return uvec4(d0, d1, i % r2, i / r2);
}

// The digits of i + 1 from those of i: carries by selects, with no division and no branch.
// Inner loops walk their maps with it because some drivers (SwiftShader) do not fold
// branches on specialization constants: map_index's branches and divisions inside a GEMM's
// k loop made it 1.4-2.3x slower there (bench/AB.md). A radix of 0 never carries (its digit is
// unbounded).
uvec4 map_step(uvec4 d, uint r0, uint r1, uint r2) {
    d.x += 1;
    uint c = uint(d.x == r0);
    d.x *= 1 - c;
    d.y += c;
    c *= uint(d.y == r1);
    d.y *= 1 - c;
    d.z += c;
    c *= uint(d.z == r2);
    d.z *= 1 - c;
    d.w += c;
    return d;
}

uint map_offset(uvec4 d, uint s0, uint s1, uint s2, uint s3) {
    return d.x * s0 + d.y * s1 + d.z * s2 + d.w * s3;
}

uint map_index(uint i, uint r0, uint r1, uint r2, uint s0, uint s1, uint s2, uint s3) {
    return map_offset(map_digits(i, r0, r1, r2), s0, s1, s2, s3);
}
