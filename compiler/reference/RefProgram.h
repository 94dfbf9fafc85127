//===- RefProgram.h - fdgraph as a float32 program --------------*- C++ -*-===//
//
// The CPU reference executor's input: the ops of an fdgraph `forward`
// function in order, with every weight dequantized to float32. It holds no
// MLIR so the runtime's CPU backend can use the executor without the
// compiler; `buildRefProgram` (RefBuilder.h) makes one from an fdgraph module.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_REFERENCE_REFPROGRAM_H
#define FUSEDECODE_COMPILER_REFERENCE_REFPROGRAM_H

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace fd::reference {

/// A dense float32 weight; linear weights are [N, K] row-major, experts
/// [E, N, K].
struct Weight {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};
using WeightPtr = std::shared_ptr<const Weight>;

struct EmbedStep {
  WeightPtr table; // [vocab, hidden]
};
struct RMSNormStep {
  WeightPtr weight;
  double eps;
  bool zeroCentered;
};
struct AddStep {};
struct LinearStep {
  WeightPtr weight; // [N, K]
};
struct GatedDeltaNetStep {
  WeightPtr conv, aLog, dtBias, norm;
  int64_t layer, kHeads, vHeads, kDim, vDim, convKernel;
  double normEps;
};
struct AttentionStep {
  WeightPtr qNorm, kNorm;
  int64_t layer, heads, kvHeads, headDim, rotaryDim;
  double ropeTheta, normEps;
  bool outputGate, normZeroCentered;
};
struct MoEStep {
  WeightPtr router, gate, up, gateUp, down; // gate/up or gateUp
  WeightPtr sharedGate, sharedUp, sharedDown, sharedExpertGate; // optional
  int64_t experts, topK;
  bool normTopkProb;
};
struct LMHeadStep {
  WeightPtr weight; // [vocab, hidden]
};
struct SampleStep {};

using StepKind =
    std::variant<EmbedStep, RMSNormStep, AddStep, LinearStep, GatedDeltaNetStep,
                 AttentionStep, MoEStep, LMHeadStep, SampleStep>;

/// One op: reads values `inputs`, writes value `output` (SSA numbering; value
/// 0 is the token-id argument).
struct Step {
  StepKind kind;
  std::vector<int> inputs;
  int output = -1;
};

struct RefProgram {
  std::vector<Step> steps;
  int numValues = 1;
  /// The value `forward` returns (the sampled token).
  int result = -1;
  int64_t vocabSize = 0, hiddenSize = 0, numLayers = 0;

  /// Calls `fn(const WeightPtr &)` for every weight a step holds (optional
  /// ones only when present; a weight shared by steps once per step).
  template <typename Fn> void forEachWeight(Fn &&fn) const {
    auto each = [&](std::initializer_list<const WeightPtr *> ws) {
      for (const WeightPtr *w : ws) {
        if (*w) {
          fn(*w);
        }
      }
    };
    for (const Step &s : steps) {
      if (auto *k = std::get_if<EmbedStep>(&s.kind)) {
        each({&k->table});
      } else if (auto *k = std::get_if<RMSNormStep>(&s.kind)) {
        each({&k->weight});
      } else if (auto *k = std::get_if<LinearStep>(&s.kind)) {
        each({&k->weight});
      } else if (auto *k = std::get_if<GatedDeltaNetStep>(&s.kind)) {
        each({&k->conv, &k->aLog, &k->dtBias, &k->norm});
      } else if (auto *k = std::get_if<AttentionStep>(&s.kind)) {
        each({&k->qNorm, &k->kNorm});
      } else if (auto *k = std::get_if<MoEStep>(&s.kind)) {
        each({&k->router, &k->gate, &k->up, &k->gateUp, &k->down,
              &k->sharedGate, &k->sharedUp, &k->sharedDown,
              &k->sharedExpertGate});
      } else if (auto *k = std::get_if<LMHeadStep>(&s.kind)) {
        each({&k->weight});
      }
    }
  }
};

} // namespace fd::reference

#endif
