//===- RefProgramJson.cpp - a RefProgram without its weight data ----------===//

#include "compiler/reference/RefProgramJson.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

namespace fd::reference {

namespace {

using json = nlohmann::json;

/// One visitor lists a step kind's name, scalar attributes and weights, so
/// writing and reading cannot drift apart. `Io` is the writer or the reader.
template <typename Io> void fields(Io &io, EmbedStep &s) {
  io.name("embed");
  io.weight("table", s.table);
}
template <typename Io> void fields(Io &io, RMSNormStep &s) {
  io.name("rms_norm");
  io.weight("weight", s.weight);
  io.value("eps", s.eps);
  io.value("zero_centered", s.zeroCentered);
}
template <typename Io> void fields(Io &io, AddStep &) { io.name("add"); }
template <typename Io> void fields(Io &io, LinearStep &s) {
  io.name("linear");
  io.weight("weight", s.weight);
}
template <typename Io> void fields(Io &io, GatedDeltaNetStep &s) {
  io.name("gated_delta_net");
  io.weight("conv", s.conv);
  io.weight("a_log", s.aLog);
  io.weight("dt_bias", s.dtBias);
  io.weight("norm", s.norm);
  io.value("layer", s.layer);
  io.value("k_heads", s.kHeads);
  io.value("v_heads", s.vHeads);
  io.value("k_dim", s.kDim);
  io.value("v_dim", s.vDim);
  io.value("conv_kernel", s.convKernel);
  io.value("norm_eps", s.normEps);
}
template <typename Io> void fields(Io &io, AttentionStep &s) {
  io.name("gated_attention");
  io.weight("q_norm", s.qNorm);
  io.weight("k_norm", s.kNorm);
  io.value("layer", s.layer);
  io.value("heads", s.heads);
  io.value("kv_heads", s.kvHeads);
  io.value("head_dim", s.headDim);
  io.value("rotary_dim", s.rotaryDim);
  io.value("rope_theta", s.ropeTheta);
  io.value("norm_eps", s.normEps);
  io.value("output_gate", s.outputGate);
  io.value("norm_zero_centered", s.normZeroCentered);
}
template <typename Io> void fields(Io &io, MoEStep &s) {
  io.name("moe");
  io.weight("router", s.router);
  io.optionalWeight("gate", s.gate);
  io.optionalWeight("up", s.up);
  io.optionalWeight("gate_up", s.gateUp);
  io.weight("down", s.down);
  io.optionalWeight("shared_gate", s.sharedGate);
  io.optionalWeight("shared_up", s.sharedUp);
  io.optionalWeight("shared_down", s.sharedDown);
  io.optionalWeight("shared_expert_gate", s.sharedExpertGate);
  io.value("experts", s.experts);
  io.value("top_k", s.topK);
  io.value("norm_topk_prob", s.normTopkProb);
}
template <typename Io> void fields(Io &io, LMHeadStep &s) {
  io.name("lm_head");
  io.weight("weight", s.weight);
}
template <typename Io> void fields(Io &io, SampleStep &) { io.name("sample"); }

struct Writer {
  json step = json::object();
  json *weightShapes;
  void name(const char *n) { step["op"] = n; }
  template <typename T> void value(const char *key, T &v) { step[key] = v; }
  void weight(const char *role, WeightPtr &w) {
    step["weights"][role] = w->name;
    (*weightShapes)[w->name] = w->shape;
  }
  void optionalWeight(const char *role, WeightPtr &w) {
    if (w) {
      weight(role, w);
    }
  }
};

struct Reader {
  const json &step;
  std::function<WeightPtr(const std::string &, std::string &)> resolve;
  std::string error;
  std::string op;
  void name(const char *n) { op = n; }
  template <typename T> void value(const char *key, T &v) {
    if (!error.empty()) {
      return;
    }
    if (!step.contains(key)) {
      error = "step '" + op + "' lacks '" + key + "'";
      return;
    }
    v = step.at(key).get<T>();
  }
  void weight(const char *role, WeightPtr &w) {
    if (error.empty() && !step.contains("weights")) {
      error = "step '" + op + "' lacks its weights";
    }
    if (!error.empty()) {
      return;
    }
    if (!step["weights"].contains(role)) {
      error = "step '" + op + "' lacks weight '" + role + "'";
      return;
    }
    w = resolve(step["weights"][role].get<std::string>(), error);
  }
  void optionalWeight(const char *role, WeightPtr &w) {
    if (step.contains("weights") && step["weights"].contains(role)) {
      weight(role, w);
    }
  }
};

/// Only the kind's name.
struct Namer {
  std::string n;
  void name(const char *s) { n = s; }
  template <typename T> void value(const char *, T &) {}
  void weight(const char *, WeightPtr &) {}
  void optionalWeight(const char *, WeightPtr &) {}
};

/// Default-constructs the step kind named `op` into `kind`.
bool makeKind(const std::string &op, StepKind &kind) {
  bool found = false;
  auto tryKind = [&](auto k) {
    Namer namer;
    fields(namer, k);
    if (!found && namer.n == op) {
      kind = k;
      found = true;
    }
  };
  tryKind(EmbedStep{});
  tryKind(RMSNormStep{});
  tryKind(AddStep{});
  tryKind(LinearStep{});
  tryKind(GatedDeltaNetStep{});
  tryKind(AttentionStep{});
  tryKind(MoEStep{});
  tryKind(LMHeadStep{});
  tryKind(SampleStep{});
  return found;
}

} // namespace

std::string refProgramToJson(const RefProgram &program) {
  json steps = json::array(), shapes = json::object();
  for (const Step &s : program.steps) {
    Writer w{json::object(), &shapes};
    StepKind kind = s.kind;
    std::visit([&](auto &k) { fields(w, k); }, kind);
    w.step["in"] = s.inputs;
    w.step["out"] = s.output;
    steps.push_back(std::move(w.step));
  }
  json j = {
      {"format", "fusedecode-reference"}, {"version", 1},
      {"vocab_size", program.vocabSize},  {"hidden_size", program.hiddenSize},
      {"num_layers", program.numLayers},  {"num_values", program.numValues},
      {"result", program.result},         {"weights", std::move(shapes)},
      {"steps", std::move(steps)}};
  return j.dump(1) + "\n";
}

std::string refProgramFromJson(const std::string &text,
                               const WeightResolver &resolve, RefProgram &out) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return "malformed JSON";
  }
  try {
    // get<>() first: a comparison with a literal allocates inside a noexcept
    // operator (allocation failure would abort).
    if (j.at("format").get<std::string>() != "fusedecode-reference" ||
        j.at("version").get<int64_t>() != 1) {
      return "not a version 1 fusedecode reference program";
    }
    RefProgram p;
    p.vocabSize = j.at("vocab_size").get<int64_t>();
    p.hiddenSize = j.at("hidden_size").get<int64_t>();
    p.numLayers = j.at("num_layers").get<int64_t>();
    p.numValues = j.at("num_values").get<int>();
    p.result = j.at("result").get<int>();
    std::map<std::string, WeightPtr> resolved;
    const json &shapes = j.at("weights");
    auto weight = [&](const std::string &name,
                      std::string &error) -> WeightPtr {
      auto it = resolved.find(name);
      if (it != resolved.end()) {
        return it->second;
      }
      if (!shapes.contains(name)) {
        error = "weight '" + name + "' has no shape";
        return nullptr;
      }
      WeightPtr w =
          resolve(name, shapes.at(name).get<std::vector<int64_t>>(), error);
      if (w) {
        resolved[name] = w;
      }
      return w;
    };
    for (const json &s : j.at("steps")) {
      Step step;
      std::string op = s.at("op").get<std::string>();
      if (!makeKind(op, step.kind)) {
        return "unknown step '" + op + "'";
      }
      Reader r{s, weight, "", op};
      std::visit([&](auto &k) { fields(r, k); }, step.kind);
      if (!r.error.empty()) {
        return r.error;
      }
      step.inputs = s.at("in").get<std::vector<int>>();
      step.output = s.at("out").get<int>();
      for (int v : step.inputs) {
        if (v < 0 || v >= p.numValues || v >= step.output) {
          return "step '" + op + "' reads value " + std::to_string(v) +
                 " before it is made";
        }
      }
      if (step.output <= 0 || step.output >= p.numValues) {
        return "step '" + op + "' writes value " + std::to_string(step.output) +
               " out of range";
      }
      p.steps.push_back(std::move(step));
    }
    if (p.steps.empty() || p.result != p.steps.back().output ||
        !std::holds_alternative<SampleStep>(p.steps.back().kind)) {
      return "the program does not end with the sampled token";
    }
    out = std::move(p);
    return "";
  } catch (const json::exception &e) {
    return std::string("bad field: ") + e.what();
  }
}

} // namespace fd::reference
