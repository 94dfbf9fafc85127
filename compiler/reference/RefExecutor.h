//===- RefExecutor.h - float32 CPU reference executor -----------*- C++ -*-===//
//
// Runs a RefProgram token by token with its recurrent state: the KV cache of
// each attention layer, the conv and recurrent state of each Gated DeltaNet
// layer. Everything is float32; it is the numerical oracle for every GPU
// kernel, so clarity wins over speed (linear layers are parallel over output
// rows, which keeps the tiny models' checks at a few milliseconds).
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_REFERENCE_REFEXECUTOR_H
#define FUSEDECODE_COMPILER_REFERENCE_REFEXECUTOR_H

#include "compiler/reference/RefProgram.h"

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace fd::reference {

class RefExecutor {
public:
  explicit RefExecutor(RefProgram program);

  /// Feeds `tokens` at the next positions (a prompt prefill or one decode
  /// token) and returns the logits of the last one.
  std::vector<float> forward(const std::vector<int32_t> &tokens);

  /// Drops all state; the next forward starts at position 0.
  void reset();

  /// Called after every step with the value it produced ([rows, cols],
  /// row-major): for comparing intermediate activations with a GPU run and
  /// for watching their scale.
  using Observer =
      std::function<void(size_t stepIndex, const Step &step, int64_t rows,
                         int64_t cols, const float *data)>;
  void setObserver(Observer observer) { observer_ = std::move(observer); }

  int64_t position() const { return position_; }
  const RefProgram &program() const { return program_; }

  /// Index of the largest logit (the first on ties, like torch.argmax).
  static int32_t argmax(const std::vector<float> &logits);

  /// Prefill `prompt`, then `steps` decode steps. Row 0 of the result is the
  /// prefill's last logits; row s the logits after feeding token s-1 of
  /// `generated`. Each fed token is the argmax of the previous row, or
  /// `forced[s-1]` when `forced` is given (teacher forcing).
  struct Generation {
    std::vector<std::vector<float>> logits;
    std::vector<int32_t> tokens; // argmax of each row
  };
  Generation generate(const std::vector<int32_t> &prompt, int steps,
                      const std::vector<int32_t> *forced = nullptr);

private:
  struct LayerState {
    // Attention: keys and values of every past position, [pos][kvHeads*dim].
    std::vector<float> keys, values;
    // GDN: the last convKernel-1 inputs of the conv, [kernel-1][channels],
    // and the fp32 state, [vHeads][kDim][vDim].
    std::vector<float> conv, recurrent;
  };
  struct Tensor {
    int64_t rows = 0, cols = 0;
    std::vector<float> data;
    float *row(int64_t r) { return data.data() + r * cols; }
    const float *row(int64_t r) const { return data.data() + r * cols; }
  };

  void run(const Step &step, std::vector<Tensor> &values,
           const std::vector<int32_t> &tokens);
  Tensor gatedDeltaNet(const GatedDeltaNetStep &s, const Tensor &qkv,
                       const Tensor &z, const Tensor &b, const Tensor &a);
  Tensor attention(const AttentionStep &s, const Tensor &q, const Tensor &k,
                   const Tensor &v);
  Tensor moe(const MoEStep &s, const Tensor &x);

  RefProgram program_;
  Observer observer_;
  std::map<int64_t, LayerState> state_;
  int64_t position_ = 0;
};

} // namespace fd::reference

#endif
