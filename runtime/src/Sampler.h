//===- Sampler.h - choosing the next token from logits ----------*- C++ -*-===//
//
// HF transformers' order: repetition penalty, temperature, top-k, top-p,
// min-p, then one draw from what is left. Temperature 0 is argmax (lowest
// id on ties). The generator is std::mt19937_64 seeded with the seed plus
// the sequence length, so a run repeats exactly and each turn of a chat
// draws differently.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_SAMPLER_H
#define FUSEDECODE_RUNTIME_SAMPLER_H

#include "fusedecode/engine.h"

#include <random>
#include <vector>

namespace fd::runtime {

class Sampler {
public:
  Sampler(const fd_sampling &s, uint64_t position)
      : s_(s), rng_(s.seed + position) {}
  /// `logits` (n of them) are modified in place; `recent` is the sequence
  /// so far, whose last repetition_window tokens the penalty applies to.
  int32_t sample(float *logits, int64_t n, const std::vector<int32_t> &recent);

private:
  fd_sampling s_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

} // namespace fd::runtime

#endif
