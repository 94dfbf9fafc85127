//===- instantiate.hip - a set of template instances to compile ----------===//
//
// Compiled for gfx1151 by clang-22 (device only, our platform layer, no HIP
// headers) and for sm_90 by nvcc in the lit tests of test/Codegen, which read
// back each instance's registers and check that nothing spills. The generated
// kernels.hip of a compiled model has the same shape: one explicit
// instantiation per configuration used.
//
//===----------------------------------------------------------------------===//

#include "elementwise.h"
#include "gemv.h"

namespace fd::kernels {

// Qwen3.5-35B-A3B decode (M = 1) and 4-token verification shapes.
template __global__ void gemv_w4a16<2, 32, 1, 4, 128, false, true, false>(const int32_t *, const uint16_t *,
                                                               const uint8_t *, const uint16_t *,
                                                               void *, int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_w4a16<4, 16, 4, 2, 128, true, false, true>(const int32_t *, const uint16_t *,
                                                               const uint8_t *, const uint16_t *,
                                                               void *, int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_bf16<2, 32, 1, 8, false, false>(const uint16_t *, const uint16_t *, void *,
                                                   int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_w8a16<1, 32, 1, 8, 32, false>(const int8_t *, const uint16_t *,
                                                       const uint16_t *, void *, int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void rms_norm<256, true>(const uint16_t *, const uint16_t *, uint16_t *, int,
                                             float);
template __global__ void embed<256>(const uint16_t *, const int32_t *, uint16_t *, int);
template __global__ void rms_norm<256, true, float, float>(const float *, const uint16_t *, float *,
                                                           int, float);
template __global__ void gemv_bf16<2, 16, 1, 4, false, true, float>(const uint16_t *, const float *, void *,
                                                          int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void embed<256, float>(const uint16_t *, const int32_t *, float *, int);
template __global__ void argmax<1024>(const float *, int, int32_t *);

} // namespace fd::kernels

#include "glu.h"

namespace fd::kernels {
template __global__ void gemv_w4a16_glu<2, 16, 4, 128, true>(
    const int32_t *, const uint16_t *, const uint8_t *, const int32_t *, const uint16_t *,
    const uint8_t *, const uint16_t *, uint16_t *, int, int);
template __global__ void gemv_w4a16_experts_glu<1, 32, 2, 128, false>(
    const int32_t *, const uint16_t *, const uint8_t *, const int32_t *, const uint16_t *,
    const uint8_t *, const int32_t *, const uint16_t *, uint16_t *, int, int);
template __global__ void gemv_bf16_glu<4, 8, 2>(const uint16_t *, const uint16_t *,
                                                const uint16_t *, uint16_t *, int, int);
} // namespace fd::kernels

#include "mixers.h"
#include "moe.h"

namespace fd::kernels {

template __global__ void gemv_segments4<2, 32, 4, 128, false, 1, 1, 2, 2>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int,
    const void *, const uint16_t *, const uint8_t *, float *, int, const void *, const uint16_t *,
    const uint8_t *, float *, int, const void *, const uint16_t *, const uint8_t *, float *, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_segments3<1, 16, 2, 128, true, 1, 1, 1>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int,
    const void *, const uint16_t *, const uint8_t *, float *, int, const void *, const uint16_t *,
    const uint8_t *, float *, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_segments2<1, 32, 2, 32, false, 2, 2>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int,
    const void *, const uint16_t *, const uint8_t *, float *, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_w4a16_experts<2, 16, 4, 128, false, false>(
    const int32_t *, const uint16_t *, const uint8_t *, const int32_t *, const uint16_t *, int,
    void *, int, int);
template __global__ void router_topk<256>(const float *, int, int, int, int32_t *, float *);
// The fused MoE forms at the 35B-A3B shapes (router bf16 256 x 2048, shared
// expert bf16 2048 x 512 gated by a 2048-long dot, routed w4 2048 x 512).
template __global__ void router_gemv_topk<1, 32, 4, 32, false, 2>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int, int,
    int, int32_t *, float *, uint32_t *, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_gated<1, 16, 4, 32, false, 2>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int,
    const uint16_t *, const uint16_t *, int);
template __global__ void moe_down_combine<1, 16, 4, 128, false, 2>(
    float *, const float *, const int32_t *, const uint16_t *, const uint8_t *, const int32_t *,
    const float *, const uint16_t *, int, int, const void *, const uint16_t *, const uint8_t *,
    const uint16_t *, int, const float *, const uint16_t *, const uint16_t *, int, int);
template __global__ void moe_down_combine<2, 16, 4, 128, true, 1>(
    float *, const float *, const int32_t *, const uint16_t *, const uint8_t *, const int32_t *,
    const float *, const uint16_t *, int, int, const void *, const uint16_t *, const uint8_t *,
    const uint16_t *, int, const float *, const uint16_t *, const uint16_t *, int, int);
template __global__ void silu_mul<256>(const float *, const float *, uint16_t *, int);
template __global__ void moe_combine<256>(float *, const float *, const float *, const float *,
                                          int, const float *, const float *, int);
template __global__ void add_residual<256>(float *, const float *, int);
template __global__ void gdn_conv<256>(const float *, const uint16_t *, float *, float *, int, int);
// Qwen3.5-35B-A3B's heads split over 4 blocks (as lowered), and whole.
template __global__ void gdn_decode<256, 128, 8, 4>(const float *, const float *, const float *,
                                                 const float *, const float *, const float *,
                                                 const float *, float *, uint16_t *, float *,
                                                 uint32_t *, int, int, int, int, float,
                                                 const uint16_t *, const int32_t *, float *);
// The conv folded in (fd-fuse-gdn-conv), Qwen3.5's kernel of 4.
template __global__ void gdn_decode<512, 128, 4, 1, 4>(const float *, const float *, const float *,
                                                    const float *, const float *, const float *,
                                                    const float *, float *, uint16_t *, float *,
                                                    uint32_t *, int, int, int, int, float,
                                                    const uint16_t *, const int32_t *, float *);
template __global__ void gdn_decode<512, 128, 4, 1>(const float *, const float *, const float *,
                                                 const float *, const float *, const float *,
                                                 const float *, float *, uint16_t *, float *,
                                                 uint32_t *, int, int, int, int, float,
                                                 const uint16_t *, const int32_t *, float *);
template __global__ void kv_append<64, 256>(const float *, const float *, const uint16_t *, int,
                                            float, int, float, const int32_t *, float *, float *,
                                            int, int);
// Qwen3.5-35B-A3B: 4 of the 8 query heads per KV head of dim 256 in a
// block, 64 splits.
template __global__ void attention_decode<256, 256, 4, 64>(
    const float *, const uint16_t *, int, float, int, float, const int32_t *, const float *,
    const float *, float *, uint32_t *, uint16_t *, int, int, int, int, const float *,
    const float *, const uint16_t *, float *, float *);
// kv_append folded in (fd-fuse-kv-append).
template __global__ void attention_decode<256, 256, 4, 64, 1>(
    const float *, const uint16_t *, int, float, int, float, const int32_t *, const float *,
    const float *, float *, uint32_t *, uint16_t *, int, int, int, int, const float *,
    const float *, const uint16_t *, float *, float *);

} // namespace fd::kernels

#include "sample.h"

namespace fd::kernels {
template __global__ void sample_token<1024>(const float *, int, float, int, float, uint64_t,
                                            const int32_t *, int32_t *);

// The RMSNorm prologue (fd-fuse-rms-norm) on the full-size shapes: GDN's
// in_proj, attention's q | k | v, the router, the bf16 and int8 lm_head.
template __global__ void gemv_segments4<2, 32, 4, 128, false, 1, 1, 2, 2, 1, 2048>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int,
    const void *, const uint16_t *, const uint8_t *, float *, int, const void *, const uint16_t *,
    const uint8_t *, float *, int, const void *, const uint16_t *, const uint8_t *, float *, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_segments3<1, 16, 2, 128, true, 1, 1, 1, 1, 2048>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int,
    const void *, const uint16_t *, const uint8_t *, float *, int, const void *, const uint16_t *,
    const uint8_t *, float *, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void router_gemv_topk<1, 32, 4, 32, false, 2, 1, 2048>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int, int,
    int, int32_t *, float *, uint32_t *, const float *, const uint16_t *, uint16_t *, float);
// The router with the shared expert's gate/up (fd-fuse-router-shared).
template __global__ void router_gemv_topk_glu<1, 32, 4, 32, false, 2, 2, 1, 2048>(
    const uint16_t *, int, const void *, const uint16_t *, const uint8_t *, float *, int, int,
    int, int32_t *, float *, uint32_t *, const void *, const uint16_t *, const uint8_t *,
    const void *, const uint16_t *, const uint8_t *, uint16_t *, int, const float *,
    const uint16_t *, uint16_t *, float);
template __global__ void gemv_bf16<2, 32, 1, 8, false, false, uint16_t, 2, 2048>(
    const uint16_t *, const uint16_t *, void *, int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_w8a16<1, 32, 1, 8, 32, false, 1, 2048>(
    const int8_t *, const uint16_t *, const uint16_t *, void *, int, int, const float *, const uint16_t *, uint16_t *, float);
template __global__ void gemv_w4a16<2, 32, 1, 4, 128, false, false, false, 1, 2048>(
    const int32_t *, const uint16_t *, const uint8_t *, const uint16_t *, void *, int, int, const float *, const uint16_t *, uint16_t *, float);
// A row longer than the prologue holds in registers (64 threads, K = 8192):
// read twice, and must not spill.
template __global__ void gemv_w4a16<1, 32, 1, 2, 128, false, false, false, 1, 8192>(
    const int32_t *, const uint16_t *, const uint8_t *, const uint16_t *, void *, int, int, const float *, const uint16_t *, uint16_t *, float);

} // namespace fd::kernels
