// Index maps (runtime/ops/ops.h, rm_index_map): i is split into mixed-radix digits
// d0 = i % r0, d1 = (i / r0) % r1, ... (a radix of 0 ends the split; the last digit is
// unbounded) and lands at sum(d_k * s_k). Radices and strides are specialization constants,
// so the divisions compile to multiplies.
uint map_index(uint i, uint r0, uint r1, uint r2, uint s0, uint s1, uint s2, uint s3) {
    if (r0 == 0) return i * s0;
    uint off = (i % r0) * s0;
    i /= r0;
    if (r1 == 0) return off + i * s1;
    off += (i % r1) * s1;
    i /= r1;
    if (r2 == 0) return off + i * s2;
    off += (i % r2) * s2;
    i /= r2;
    return off + i * s3;
}
