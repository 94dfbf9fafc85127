//===- RefExecutor.cpp - float32 CPU reference executor -------------------===//
//
// The math follows the transformers 5.17 modelling code of Qwen3.5-MoE and
// Qwen3-MoE (see docs/reference.md for the correspondence).
//
//===----------------------------------------------------------------------===//

#include "compiler/reference/RefExecutor.h"


#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>
#include <thread>

namespace fd::reference {

namespace {

/// Dot products accumulate in double: the oracle should be the most exact
/// party in every comparison.
double dot(const float *a, const float *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    s += static_cast<double>(a[i]) * b[i];
  }
  return s;
}

float sigmoid(double x) {
  return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
}
float silu(double x) { return static_cast<float>(x / (1.0 + std::exp(-x))); }
/// torch.nn.functional.softplus with its default threshold of 20.
double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

/// y[n] = x . w[n] for the rows [begin, end) of an [N, K] matrix.
void matvec(const float *x, const float *w, int64_t n, int64_t k, float *y) {
  auto body = [&](size_t r) {
    y[r] = static_cast<float>(dot(x, w + static_cast<int64_t>(r) * k, k));
  };
  // Threads pay off only for matrices of some size. Rows are split into one
  // contiguous range per hardware thread; the runtime's CPU backend links
  // this file, so it uses std::thread rather than LLVM's thread pool.
  if (n * k >= (1 << 16)) {
    const int64_t threads = std::max<int64_t>(
        1, std::min<int64_t>(std::thread::hardware_concurrency(), n / 8));
    std::vector<std::thread> pool;
    for (int64_t t = 1; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int64_t r = n * t / threads; r < n * (t + 1) / threads; ++r) {
          body(static_cast<size_t>(r));
        }
      });
    }
    for (int64_t r = 0; r < n / threads; ++r) {
      body(static_cast<size_t>(r));
    }
    for (std::thread &th : pool) {
      th.join();
    }
  } else {
    for (int64_t r = 0; r < n; ++r) {
      body(static_cast<size_t>(r));
    }
  }
}

/// In-place RMSNorm of `n` values: x * rsqrt(mean(x^2) + eps) * scale, where
/// scale is w (or 1 + w when zero-centred).
void rmsNormInPlace(float *x, int64_t n, const float *w, double eps,
                    bool zeroCentered) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) {
    ss += static_cast<double>(x[i]) * x[i];
  }
  double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    double scale = zeroCentered ? 1.0 + w[i] : w[i];
    x[i] = static_cast<float>(x[i] * inv * scale);
  }
}

/// x * rsqrt(sum(x^2) + eps), as transformers' l2norm (eps inside the root).
void l2NormInPlace(float *x, int64_t n, double eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) {
    ss += static_cast<double>(x[i]) * x[i];
  }
  double inv = 1.0 / std::sqrt(ss + eps);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(x[i] * inv);
  }
}

/// Rotate-half RoPE on the first `rot` dims of one head at position `pos`.
/// Frequencies are formed in float32 as transformers does, so that positions
/// far into a long context agree with it to the last bit of the angle.
void rope(float *x, int64_t rot, int64_t pos, double theta) {
  int64_t half = rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    float invFreq =
        1.0f / std::pow(static_cast<float>(theta),
                        static_cast<float>(2 * i) / static_cast<float>(rot));
    float angle = static_cast<float>(pos) * invFreq;
    double c = std::cos(angle), s = std::sin(angle);
    double x1 = x[i], x2 = x[i + half];
    x[i] = static_cast<float>(x1 * c - x2 * s);
    x[i + half] = static_cast<float>(x2 * c + x1 * s);
  }
}

} // namespace

RefExecutor::RefExecutor(RefProgram program) : program_(std::move(program)) {}

void RefExecutor::reset() {
  state_.clear();
  position_ = 0;
}

int32_t RefExecutor::argmax(const std::vector<float> &logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                              logits.begin());
}

std::vector<float> RefExecutor::forward(const std::vector<int32_t> &tokens) {
  assert(!tokens.empty() && "forward needs at least one token");
  std::vector<Tensor> values(static_cast<size_t>(program_.numValues));
  for (size_t i = 0; i < program_.steps.size(); ++i) {
    const Step &step = program_.steps[i];
    run(step, values, tokens);
    if (observer_) {
      const Tensor &v = values[step.output];
      observer_(i, step, v.rows, v.cols, v.data.data());
    }
  }
  position_ += static_cast<int64_t>(tokens.size());
  const Step &last = program_.steps.back();
  assert(std::holds_alternative<SampleStep>(last.kind) &&
         "forward must end in sample");
  const Tensor &logits = values[last.inputs[0]];
  const float *row = logits.row(logits.rows - 1);
  return std::vector<float>(row, row + logits.cols);
}

RefExecutor::Generation
RefExecutor::generate(const std::vector<int32_t> &prompt, int steps,
                      const std::vector<int32_t> *forced) {
  Generation g;
  std::vector<float> logits = forward(prompt);
  for (int s = 0;; ++s) {
    g.tokens.push_back(argmax(logits));
    g.logits.push_back(std::move(logits));
    if (s == steps) {
      break;
    }
    int32_t next = forced ? (*forced)[s] : g.tokens.back();
    logits = forward({next});
  }
  return g;
}

void RefExecutor::run(const Step &step, std::vector<Tensor> &values,
                      const std::vector<int32_t> &tokens) {
  auto in = [&](size_t i) -> const Tensor & { return values[step.inputs[i]]; };
  Tensor out;
  int64_t t = static_cast<int64_t>(tokens.size());
  if (const auto *s = std::get_if<EmbedStep>(&step.kind)) {
    int64_t h = s->table->shape[1];
    out = Tensor{t, h, std::vector<float>(static_cast<size_t>(t * h))};
    for (int64_t r = 0; r < t; ++r) {
      int64_t id = tokens[r];
      assert(id >= 0 && id < s->table->shape[0] && "token id out of range");
      std::copy_n(s->table->data.data() + id * h, h, out.row(r));
    }
  } else if (const auto *s = std::get_if<RMSNormStep>(&step.kind)) {
    out = in(0);
    for (int64_t r = 0; r < out.rows; ++r) {
      rmsNormInPlace(out.row(r), out.cols, s->weight->data.data(), s->eps,
                     s->zeroCentered);
    }
  } else if (std::holds_alternative<AddStep>(step.kind)) {
    out = in(0);
    const Tensor &b = in(1);
    for (size_t i = 0; i < out.data.size(); ++i) {
      out.data[i] += b.data[i];
    }
  } else if (const auto *s = std::get_if<LinearStep>(&step.kind)) {
    const Tensor &x = in(0);
    int64_t n = s->weight->shape[0], k = s->weight->shape[1];
    out =
        Tensor{x.rows, n, std::vector<float>(static_cast<size_t>(x.rows * n))};
    for (int64_t r = 0; r < x.rows; ++r) {
      matvec(x.row(r), s->weight->data.data(), n, k, out.row(r));
    }
  } else if (const auto *s = std::get_if<GatedDeltaNetStep>(&step.kind)) {
    out = gatedDeltaNet(*s, in(0), in(1), in(2), in(3));
  } else if (const auto *s = std::get_if<AttentionStep>(&step.kind)) {
    out = attention(*s, in(0), in(1), in(2));
  } else if (const auto *s = std::get_if<MoEStep>(&step.kind)) {
    out = moe(*s, in(0));
  } else if (const auto *s = std::get_if<LMHeadStep>(&step.kind)) {
    // Only the last row's logits are ever consumed (sample reads the last
    // row), so only that row is computed.
    const Tensor &x = in(0);
    int64_t n = s->weight->shape[0], k = s->weight->shape[1];
    out = Tensor{1, n, std::vector<float>(static_cast<size_t>(n))};
    matvec(x.row(x.rows - 1), s->weight->data.data(), n, k, out.row(0));
  } else if (std::holds_alternative<SampleStep>(step.kind)) {
    const Tensor &logits = in(0);
    const float *row = logits.row(logits.rows - 1);
    std::vector<float> last(row, row + logits.cols);
    out = Tensor{1, 1, {static_cast<float>(argmax(last))}};
  }
  values[step.output] = std::move(out);
}

RefExecutor::Tensor RefExecutor::gatedDeltaNet(const GatedDeltaNetStep &s,
                                               const Tensor &qkv,
                                               const Tensor &z, const Tensor &b,
                                               const Tensor &a) {
  const int64_t hk = s.kHeads, hv = s.vHeads, dk = s.kDim, dv = s.vDim;
  const int64_t channels = qkv.cols, kernel = s.convKernel;
  const int64_t ratio = hv / hk;
  LayerState &st = state_[s.layer];
  if (st.recurrent.empty()) {
    st.conv.assign(static_cast<size_t>((kernel - 1) * channels), 0.0f);
    st.recurrent.assign(static_cast<size_t>(hv * dk * dv), 0.0f);
  }
  const float *convW = s.conv->data.data(); // [C, 1, K] or [C, K]
  Tensor out{qkv.rows, hv * dv,
             std::vector<float>(static_cast<size_t>(qkv.rows * hv * dv))};
  std::vector<float> mixed(static_cast<size_t>(channels));
  std::vector<double> kvMem(static_cast<size_t>(dv));
  for (int64_t r = 0; r < qkv.rows; ++r) {
    const float *x = qkv.row(r);
    // Causal depthwise conv over [state (kernel-1 rows), x], then SiLU.
    for (int64_t c = 0; c < channels; ++c) {
      double acc = 0;
      for (int64_t j = 0; j < kernel - 1; ++j) {
        acc += static_cast<double>(convW[c * kernel + j]) *
               st.conv[j * channels + c];
      }
      acc += static_cast<double>(convW[c * kernel + kernel - 1]) * x[c];
      mixed[c] = silu(acc);
    }
    if (kernel > 1) {
      std::move(st.conv.begin() + channels, st.conv.end(), st.conv.begin());
      std::copy_n(x, channels, st.conv.end() - channels);
    }
    float *q = mixed.data();
    float *k = q + hk * dk;
    const float *v = k + hk * dk;
    for (int64_t h = 0; h < hk; ++h) {
      l2NormInPlace(q + h * dk, dk, 1e-6);
      l2NormInPlace(k + h * dk, dk, 1e-6);
      for (int64_t i = 0; i < dk; ++i) {
        q[h * dk + i] = static_cast<float>(q[h * dk + i] /
                                           std::sqrt(static_cast<double>(dk)));
      }
    }
    float *o = out.row(r);
    for (int64_t h = 0; h < hv; ++h) {
      const float *qh = q + (h / ratio) * dk;
      const float *kh = k + (h / ratio) * dk;
      const float *vh = v + h * dv;
      double beta = sigmoid(b.row(r)[h]);
      double g = -std::exp(static_cast<double>(s.aLog->data[h])) *
                 softplus(static_cast<double>(a.row(r)[h]) + s.dtBias->data[h]);
      float decay = static_cast<float>(std::exp(g));
      float *S = st.recurrent.data() + h * dk * dv; // [dk][dv]
      for (int64_t i = 0; i < dk * dv; ++i) {
        S[i] *= decay;
      }
      std::fill(kvMem.begin(), kvMem.end(), 0.0);
      for (int64_t i = 0; i < dk; ++i) {
        for (int64_t j = 0; j < dv; ++j) {
          kvMem[j] += static_cast<double>(S[i * dv + j]) * kh[i];
        }
      }
      for (int64_t j = 0; j < dv; ++j) {
        kvMem[j] = (vh[j] - kvMem[j]) * beta; // now the delta
      }
      for (int64_t i = 0; i < dk; ++i) {
        for (int64_t j = 0; j < dv; ++j) {
          S[i * dv + j] = static_cast<float>(S[i * dv + j] + kh[i] * kvMem[j]);
        }
      }
      float *oh = o + h * dv;
      for (int64_t j = 0; j < dv; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < dk; ++i) {
          acc += static_cast<double>(S[i * dv + j]) * qh[i];
        }
        oh[j] = static_cast<float>(acc);
      }
      // Gated RMSNorm: rmsnorm(o) * w * silu(z), weight without 1 + w.
      rmsNormInPlace(oh, dv, s.norm->data.data(), s.normEps, false);
      const float *zh = z.row(r) + h * dv;
      for (int64_t j = 0; j < dv; ++j) {
        oh[j] = static_cast<float>(oh[j] * static_cast<double>(silu(zh[j])));
      }
    }
  }
  return out;
}

RefExecutor::Tensor RefExecutor::attention(const AttentionStep &s,
                                           const Tensor &q, const Tensor &k,
                                           const Tensor &v) {
  const int64_t hq = s.heads, hkv = s.kvHeads, d = s.headDim;
  const int64_t groups = hq / hkv;
  const int64_t qStride = s.outputGate ? 2 * d : d;
  LayerState &st = state_[s.layer];
  Tensor out{q.rows, hq * d,
             std::vector<float>(static_cast<size_t>(q.rows * hq * d))};
  std::vector<float> qh(static_cast<size_t>(d));
  for (int64_t r = 0; r < q.rows; ++r) {
    int64_t pos = position_ + r;
    // Normalise and rotate this token's keys, then append them and the values.
    std::vector<float> kr(k.row(r), k.row(r) + hkv * d);
    for (int64_t h = 0; h < hkv; ++h) {
      rmsNormInPlace(kr.data() + h * d, d, s.kNorm->data.data(), s.normEps,
                     s.normZeroCentered);
      rope(kr.data() + h * d, s.rotaryDim, pos, s.ropeTheta);
    }
    st.keys.insert(st.keys.end(), kr.begin(), kr.end());
    st.values.insert(st.values.end(), v.row(r), v.row(r) + hkv * d);
    int64_t len = pos + 1;
    assert(static_cast<int64_t>(st.keys.size()) == len * hkv * d &&
           "KV cache out of step with the position");
    std::vector<double> scores(static_cast<size_t>(len));
    double scale = 1.0 / std::sqrt(static_cast<double>(d));
    for (int64_t h = 0; h < hq; ++h) {
      const float *qin = q.row(r) + h * qStride;
      std::copy_n(qin, d, qh.begin());
      rmsNormInPlace(qh.data(), d, s.qNorm->data.data(), s.normEps,
                     s.normZeroCentered);
      rope(qh.data(), s.rotaryDim, pos, s.ropeTheta);
      int64_t kvh = h / groups;
      double maxScore = -INFINITY;
      for (int64_t p = 0; p < len; ++p) {
        scores[p] =
            dot(qh.data(), st.keys.data() + (p * hkv + kvh) * d, d) * scale;
        maxScore = std::max(maxScore, scores[p]);
      }
      double sum = 0;
      for (int64_t p = 0; p < len; ++p) {
        scores[p] = std::exp(scores[p] - maxScore);
        sum += scores[p];
      }
      float *o = out.row(r) + h * d;
      for (int64_t j = 0; j < d; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < len; ++p) {
          acc += scores[p] * st.values[(p * hkv + kvh) * d + j];
        }
        o[j] = static_cast<float>(acc / sum);
      }
      if (s.outputGate) {
        const float *gate = qin + d;
        for (int64_t j = 0; j < d; ++j) {
          o[j] =
              static_cast<float>(o[j] * static_cast<double>(sigmoid(gate[j])));
        }
      }
    }
  }
  return out;
}

RefExecutor::Tensor RefExecutor::moe(const MoEStep &s, const Tensor &x) {
  const int64_t h = x.cols, e = s.experts;
  const int64_t inter = s.down->shape[2]; // [E, H, I]
  Tensor out{x.rows, h,
             std::vector<float>(static_cast<size_t>(x.rows * h), 0.0f)};
  std::vector<float> logits(static_cast<size_t>(e)),
      gate(static_cast<size_t>(inter)), up(static_cast<size_t>(inter)),
      y(static_cast<size_t>(h));
  auto swiglu = [&](const float *xr, const float *gw, const float *uw,
                    const float *dw, int64_t width, float *dst) {
    gate.resize(static_cast<size_t>(width));
    up.resize(static_cast<size_t>(width));
    matvec(xr, gw, width, h, gate.data());
    matvec(xr, uw, width, h, up.data());
    for (int64_t i = 0; i < width; ++i) {
      gate[i] = static_cast<float>(static_cast<double>(silu(gate[i])) * up[i]);
    }
    matvec(gate.data(), dw, h, width, dst);
  };
  for (int64_t r = 0; r < x.rows; ++r) {
    const float *xr = x.row(r);
    float *o = out.row(r);
    matvec(xr, s.router->data.data(), e, h, logits.data());
    // Softmax in fp32 (as transformers), then the top k, renormalised.
    float maxLogit = *std::max_element(logits.begin(), logits.end());
    std::vector<float> probs(static_cast<size_t>(e));
    double sum = 0;
    for (int64_t i = 0; i < e; ++i) {
      probs[i] = std::exp(logits[i] - maxLogit);
      sum += probs[i];
    }
    for (float &p : probs) {
      p = static_cast<float>(p / sum);
    }
    std::vector<int64_t> order(static_cast<size_t>(e));
    std::iota(order.begin(), order.end(), 0);
    // Largest first, the lower index on ties (a total order, so the choice
    // does not depend on the sort algorithm).
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
    });
    double topSum = 0;
    for (int64_t i = 0; i < s.topK; ++i) {
      topSum += probs[order[i]];
    }
    for (int64_t i = 0; i < s.topK; ++i) {
      int64_t ex = order[i];
      double weight = s.normTopkProb ? probs[ex] / topSum : probs[ex];
      const float *gw, *uw;
      if (s.gateUp) {
        gw = s.gateUp->data.data() + ex * 2 * inter * h;
        uw = gw + inter * h;
      } else {
        gw = s.gate->data.data() + ex * inter * h;
        uw = s.up->data.data() + ex * inter * h;
      }
      swiglu(xr, gw, uw, s.down->data.data() + ex * h * inter, inter, y.data());
      for (int64_t j = 0; j < h; ++j) {
        o[j] = static_cast<float>(o[j] + weight * y[j]);
      }
    }
    if (s.sharedDown) {
      int64_t sInter = s.sharedDown->shape[1];
      swiglu(xr, s.sharedGate->data.data(), s.sharedUp->data.data(),
             s.sharedDown->data.data(), sInter, y.data());
      double scale = 1.0;
      if (s.sharedExpertGate) {
        scale = sigmoid(dot(xr, s.sharedExpertGate->data.data(), h));
      }
      for (int64_t j = 0; j < h; ++j) {
        o[j] = static_cast<float>(o[j] + scale * y[j]);
      }
    }
  }
  return out;
}

} // namespace fd::reference
