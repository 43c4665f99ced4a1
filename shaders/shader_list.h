/* Every embedded shader, one row each, read by both CMake and C:
 * - shaders/CMakeLists.txt compiles each row's source with its defines to the C array
 *   rm_spv_<name> (and writes rm_spv_all.h, which includes them all);
 * - runtime/core/pipeline.h makes the rm_shader_id enum (RM_SHADER_<ID>) and
 *   runtime/core/shaders.c the table (bindings, push constants, descriptor types) from it;
 * - runtime/ops/gemm_core.c chooses among the RM_GEMM_SHADER rows by their columns, never by
 *   their order.
 * Adding a shader is one row here. Keep each row on one line: CMake reads them with a regex.
 *
 *   RM_SHADER(ID, name, source, defines, bindings, push bytes, texel mask, texel4 mask, image mask)
 *     masks: bit i set when binding i is a uniform texel buffer (R32F view), one read as RGBA
 *     texels (RGBA32F, or RGBA16F for fp16 data), a combined image sampler; others are storage
 *     buffers.
 *   RM_GEMM_SHADER(ID, name, source, defines, kernel, operand path, weights, algorithm, tile)
 *     a kernel on the GEMM core (gemm_core.glsl): kernel GEMM | CONV; operand path STORAGE |
 *     TEXEL (A, W and V through texel buffers); weights F32 | F16 | ANY (texel views convert
 *     either); algorithm REGISTER (a TM x 8 register tile per invocation) | SHARED
 *     (shared-memory tiles of 16*TM x 16*TM, gemm_main_shared.glsl) | SHARED_F16 (the same
 *     with fp16 products, RM_F16_MATH) | COOPMAT_NV (NV cooperative matrices, 64 x 64 tiles,
 *     gemm_main_coopmat_nv.glsl); tile = TM rows per invocation (A staging rows for
 *     COOPMAT_NV).
 * defines: space-separated NAME=VALUE, or - for none. */
#ifndef RM_SHADER_LIST_H
#define RM_SHADER_LIST_H

// clang-format off
#define RM_SHADER_LIST(RM_SHADER, RM_GEMM_SHADER) \
RM_SHADER(AVGPOOL, avgpool, avgpool.comp, -, 2, 32, 0, 0, 0) \
RM_SHADER(BROADCAST_ADD, broadcast_add, broadcast_add.comp, -, 2, 28, 0, 0, 0) \
RM_GEMM_SHADER(GEMM_M1, gemm_m1, gemm.comp, TM=1, GEMM, STORAGE, F32, REGISTER, 1) \
RM_GEMM_SHADER(GEMM_M4, gemm_m4, gemm.comp, TM=4, GEMM, STORAGE, F32, REGISTER, 4) \
RM_GEMM_SHADER(GEMM_M8, gemm_m8, gemm.comp, TM=8, GEMM, STORAGE, F32, REGISTER, 8) \
RM_GEMM_SHADER(GEMM_TEXEL_M1, gemm_texel_m1, gemm.comp, TM=1 RM_TEXEL=1, GEMM, TEXEL, ANY, REGISTER, 1) \
RM_GEMM_SHADER(GEMM_TEXEL_M4, gemm_texel_m4, gemm.comp, TM=4 RM_TEXEL=1, GEMM, TEXEL, ANY, REGISTER, 4) \
RM_GEMM_SHADER(GEMM_TEXEL_M8, gemm_texel_m8, gemm.comp, TM=8 RM_TEXEL=1, GEMM, TEXEL, ANY, REGISTER, 8) \
RM_GEMM_SHADER(GEMM_W16_M1, gemm_w16_m1, gemm.comp, TM=1 RM_W16=1, GEMM, STORAGE, F16, REGISTER, 1) \
RM_GEMM_SHADER(GEMM_W16_M4, gemm_w16_m4, gemm.comp, TM=4 RM_W16=1, GEMM, STORAGE, F16, REGISTER, 4) \
RM_GEMM_SHADER(GEMM_W16_M8, gemm_w16_m8, gemm.comp, TM=8 RM_W16=1, GEMM, STORAGE, F16, REGISTER, 8) \
RM_GEMM_SHADER(CONV_M1, conv_m1, conv.comp, TM=1, CONV, STORAGE, F32, REGISTER, 1) \
RM_GEMM_SHADER(CONV_M4, conv_m4, conv.comp, TM=4, CONV, STORAGE, F32, REGISTER, 4) \
RM_GEMM_SHADER(CONV_M8, conv_m8, conv.comp, TM=8, CONV, STORAGE, F32, REGISTER, 8) \
RM_GEMM_SHADER(CONV_TEXEL_M1, conv_texel_m1, conv.comp, TM=1 RM_TEXEL=1, CONV, TEXEL, ANY, REGISTER, 1) \
RM_GEMM_SHADER(CONV_TEXEL_M4, conv_texel_m4, conv.comp, TM=4 RM_TEXEL=1, CONV, TEXEL, ANY, REGISTER, 4) \
RM_GEMM_SHADER(CONV_TEXEL_M8, conv_texel_m8, conv.comp, TM=8 RM_TEXEL=1, CONV, TEXEL, ANY, REGISTER, 8) \
RM_GEMM_SHADER(CONV_W16_M1, conv_w16_m1, conv.comp, TM=1 RM_W16=1, CONV, STORAGE, F16, REGISTER, 1) \
RM_GEMM_SHADER(CONV_W16_M4, conv_w16_m4, conv.comp, TM=4 RM_W16=1, CONV, STORAGE, F16, REGISTER, 4) \
RM_GEMM_SHADER(CONV_W16_M8, conv_w16_m8, conv.comp, TM=8 RM_W16=1, CONV, STORAGE, F16, REGISTER, 8) \
RM_GEMM_SHADER(GEMM_SHARED_M4, gemm_shared_m4, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1, GEMM, STORAGE, F32, SHARED, 4) \
RM_GEMM_SHADER(GEMM_SHARED_M8, gemm_shared_m8, gemm.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1, GEMM, STORAGE, F32, SHARED, 8) \
RM_GEMM_SHADER(GEMM_SHARED_W16_M4, gemm_shared_w16_m4, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_W16=1, GEMM, STORAGE, F16, SHARED, 4) \
RM_GEMM_SHADER(GEMM_SHARED_W16_M8, gemm_shared_w16_m8, gemm.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_W16=1, GEMM, STORAGE, F16, SHARED, 8) \
RM_GEMM_SHADER(GEMM_SHARED_TEXEL_M4, gemm_shared_texel_m4, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_TEXEL=1, GEMM, TEXEL, ANY, SHARED, 4) \
RM_GEMM_SHADER(GEMM_SHARED_TEXEL_M8, gemm_shared_texel_m8, gemm.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_TEXEL=1, GEMM, TEXEL, ANY, SHARED, 8) \
RM_GEMM_SHADER(CONV_SHARED_M4, conv_shared_m4, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1, CONV, STORAGE, F32, SHARED, 4) \
RM_GEMM_SHADER(CONV_SHARED_M8, conv_shared_m8, conv.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1, CONV, STORAGE, F32, SHARED, 8) \
RM_GEMM_SHADER(CONV_SHARED_W16_M4, conv_shared_w16_m4, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_W16=1, CONV, STORAGE, F16, SHARED, 4) \
RM_GEMM_SHADER(CONV_SHARED_W16_M8, conv_shared_w16_m8, conv.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_W16=1, CONV, STORAGE, F16, SHARED, 8) \
RM_GEMM_SHADER(CONV_SHARED_TEXEL_M4, conv_shared_texel_m4, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_TEXEL=1, CONV, TEXEL, ANY, SHARED, 4) \
RM_GEMM_SHADER(CONV_SHARED_TEXEL_M8, conv_shared_texel_m8, conv.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_TEXEL=1, CONV, TEXEL, ANY, SHARED, 8) \
RM_GEMM_SHADER(GEMM_SHARED_F16_M4, gemm_shared_f16_m4, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1, GEMM, STORAGE, F32, SHARED_F16, 4) \
RM_GEMM_SHADER(GEMM_SHARED_F16_M8, gemm_shared_f16_m8, gemm.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1, GEMM, STORAGE, F32, SHARED_F16, 8) \
RM_GEMM_SHADER(GEMM_SHARED_F16_W16_M4, gemm_shared_f16_w16_m4, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_W16=1, GEMM, STORAGE, F16, SHARED_F16, 4) \
RM_GEMM_SHADER(GEMM_SHARED_F16_W16_M8, gemm_shared_f16_w16_m8, gemm.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_W16=1, GEMM, STORAGE, F16, SHARED_F16, 8) \
RM_GEMM_SHADER(GEMM_SHARED_F16_TEXEL_M4, gemm_shared_f16_texel_m4, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_TEXEL=1, GEMM, TEXEL, ANY, SHARED_F16, 4) \
RM_GEMM_SHADER(GEMM_SHARED_F16_TEXEL_M8, gemm_shared_f16_texel_m8, gemm.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_TEXEL=1, GEMM, TEXEL, ANY, SHARED_F16, 8) \
RM_GEMM_SHADER(CONV_SHARED_F16_M4, conv_shared_f16_m4, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1, CONV, STORAGE, F32, SHARED_F16, 4) \
RM_GEMM_SHADER(CONV_SHARED_F16_M8, conv_shared_f16_m8, conv.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1, CONV, STORAGE, F32, SHARED_F16, 8) \
RM_GEMM_SHADER(CONV_SHARED_F16_W16_M4, conv_shared_f16_w16_m4, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_W16=1, CONV, STORAGE, F16, SHARED_F16, 4) \
RM_GEMM_SHADER(CONV_SHARED_F16_W16_M8, conv_shared_f16_w16_m8, conv.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_W16=1, CONV, STORAGE, F16, SHARED_F16, 8) \
RM_GEMM_SHADER(CONV_SHARED_F16_TEXEL_M4, conv_shared_f16_texel_m4, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_TEXEL=1, CONV, TEXEL, ANY, SHARED_F16, 4) \
RM_GEMM_SHADER(CONV_SHARED_F16_TEXEL_M8, conv_shared_f16_texel_m8, conv.comp, TM=8 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_SHARED=1 RM_F16_MATH=1 RM_TEXEL=1, CONV, TEXEL, ANY, SHARED_F16, 8) \
RM_GEMM_SHADER(GEMM_COOPMAT_NV, gemm_coopmat_nv, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_COOPMAT_NV=1, GEMM, STORAGE, F32, COOPMAT_NV, 4) \
RM_GEMM_SHADER(GEMM_COOPMAT_NV_W16, gemm_coopmat_nv_w16, gemm.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_COOPMAT_NV=1 RM_W16=1, GEMM, STORAGE, F16, COOPMAT_NV, 4) \
RM_GEMM_SHADER(CONV_COOPMAT_NV, conv_coopmat_nv, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_COOPMAT_NV=1, CONV, STORAGE, F32, COOPMAT_NV, 4) \
RM_GEMM_SHADER(CONV_COOPMAT_NV_W16, conv_coopmat_nv_w16, conv.comp, TM=4 RM_ALGORITHM_MAIN=1 RM_ALGORITHM_COOPMAT_NV=1 RM_W16=1, CONV, STORAGE, F16, COOPMAT_NV, 4) \
RM_SHADER(MAXPOOL, maxpool, maxpool.comp, -, 2, 32, 0, 0, 0) \
RM_SHADER(AFFINE, affine, affine.comp, -, 4, 12, 0, 0, 0) \
RM_SHADER(GATHER, gather, gather.comp, -, 3, 4, 0, 0, 0) \
RM_SHADER(BATCHNORM, batchnorm, batchnorm.comp, -, 7, 16, 0, 0, 0) \
RM_SHADER(SOFTMAX_TOPK, softmax_topk, softmax_topk.comp, -, 2, 4, 0, 0, 0) \
RM_SHADER(PREPROCESS_IMAGE, preprocess_image, preprocess_image.comp, -, 2, 40, 0, 0, 0x1)
// clang-format on

#endif
