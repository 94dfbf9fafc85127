//===- RandomFill.h - device buffers of valid random data -------*- C++ -*-===//
//
// Timing without a checkpoint (fd-run --random-weights, fd-tune) needs data
// of the real kind: never zeros (they can run faster and hide unwritten
// outputs) and never values that index out of range.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_RANDOMFILL_H
#define FUSEDECODE_RUNTIME_RANDOMFILL_H

#include "GpuDriver.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace fd::runtime {

/// Fills `bytes` at `address` by `layout`: "w4.qweight" uniform 4-bit codes,
/// "w4.zeros" the symmetric zero point 8, "w4.scales" fp16 ~ 1/(4.6
/// sqrt(2048)) so (q - 8) s has the 1/sqrt(K) of a trained layer, "f32" in
/// [0.5, 1.5], "w8.qweight" int8 codes in [-127, 127] with "w8.scales.g*"
/// fp16 ~ 0.04 / 127, "zero" zeros (counters), anything else bf16 ~
/// U(-0.04, 0.04). `seed` picks the data; it is made in chunks of
/// kFillChunkBytes, each from its own stream, by `workers` threads (0: one
/// per core, at most 16), so the same seed gives the same bytes whatever
/// the number of workers.
fd_error_t fillRandom(GpuDriver &gpu, const std::string &layout,
                      uint64_t address, uint64_t bytes, uint64_t seed,
                      unsigned workers = 0);
constexpr uint64_t kFillChunkBytes = uint64_t(8) << 20;

/// fillRandom's bytes into host memory (`out`, `bytes` long): the same
/// bytes for the same layout and seed, made by `workers` threads.
fd_error_t fillRandomHost(const std::string &layout, uint8_t *out,
                          uint64_t bytes, uint64_t seed, unsigned workers = 0);

/// The seed of the weight buffer named `name` under --random-weights `seed`:
/// what the GPU backend fills it with and fd-random-weights writes for it.
/// Keyed by name (XXH3 of it), not by the buffer's place in the plan, so
/// builds whose fusions add or drop activation buffers still get the same
/// weights and their tokens can be compared.
uint64_t weightSeed(uint64_t seed, std::string_view name);

/// int32 expert ids in [0, below), distinct while there are fewer ids than
/// experts (top-k ids of one token are).
fd_error_t fillExpertIds(GpuDriver &gpu, uint64_t address, uint64_t bytes,
                         int64_t below, uint64_t seed);

} // namespace fd::runtime

#endif
