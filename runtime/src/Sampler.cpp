//===- Sampler.cpp - choosing the next token from logits ------------------===//

#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace fd::runtime {

int32_t Sampler::sample(float *logits, int64_t n,
                        const std::vector<int32_t> &recent) {
  if (s_.repetition_penalty != 1.0f && s_.repetition_penalty > 0.0f) {
    size_t window = s_.repetition_window > 0
                        ? static_cast<size_t>(s_.repetition_window)
                        : recent.size();
    std::unordered_set<int32_t> seen(
        recent.end() - static_cast<ptrdiff_t>(std::min(window, recent.size())),
        recent.end());
    for (int32_t t : seen) {
      if (t >= 0 && t < n) {
        float &l = logits[t];
        l = l > 0 ? l / s_.repetition_penalty : l * s_.repetition_penalty;
      }
    }
  }
  if (s_.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
  }
  candidates_.clear();
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(logits[i])) {
      candidates_.emplace_back(logits[i] / s_.temperature,
                               static_cast<int32_t>(i));
    }
  }
  if (candidates_.empty()) {
    return 0;
  }
  auto byLogit = [](const auto &a, const auto &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = candidates_.size();
  if (s_.top_k > 0 && static_cast<size_t>(s_.top_k) < keep) {
    keep = static_cast<size_t>(s_.top_k);
    std::partial_sort(candidates_.begin(),
                      candidates_.begin() + static_cast<ptrdiff_t>(keep),
                      candidates_.end(), byLogit);
    candidates_.resize(keep);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), byLogit);
  }
  // Softmax over what is left, largest first.
  const float top = candidates_[0].first;
  double sum = 0;
  for (auto &c : candidates_) {
    c.first = std::exp(c.first - top);
    sum += c.first;
  }
  for (auto &c : candidates_) {
    c.first = static_cast<float>(c.first / sum);
  }
  if (s_.top_p > 0.0f && s_.top_p < 1.0f) {
    double cumulative = 0;
    size_t i = 0;
    while (i < candidates_.size()) {
      cumulative += candidates_[i].first;
      ++i;
      if (cumulative >= s_.top_p) {
        break;
      }
    }
    candidates_.resize(i);
  }
  if (s_.min_p > 0.0f) {
    const float floor = s_.min_p * candidates_[0].first;
    auto end = std::find_if(candidates_.begin(), candidates_.end(),
                            [&](const auto &c) { return c.first < floor; });
    candidates_.erase(end, candidates_.end());
  }
  double total = 0;
  for (const auto &c : candidates_) {
    total += c.first;
  }
  double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
  for (const auto &c : candidates_) {
    u -= c.first;
    if (u < 0) {
      return c.second;
    }
  }
  return candidates_.back().second;
}

} // namespace fd::runtime
