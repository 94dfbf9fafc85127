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
template __global__ void gemv_w4a16<2, 1, 4, 128, false, true>(const int32_t *, const uint16_t *,
                                                               const uint8_t *, const uint16_t *,
                                                               void *, int, int);
template __global__ void gemv_w4a16<4, 4, 2, 128, true, false>(const int32_t *, const uint16_t *,
                                                               const uint8_t *, const uint16_t *,
                                                               void *, int, int);
template __global__ void gemv_bf16<2, 1, 8, false>(const uint16_t *, const uint16_t *, void *,
                                                   int, int);
template __global__ void rms_norm<256, true>(const uint16_t *, const uint16_t *, uint16_t *, int,
                                             float);
template __global__ void embed<256>(const uint16_t *, const int32_t *, uint16_t *, int);
template __global__ void argmax<1024>(const float *, int, int32_t *);

} // namespace fd::kernels
