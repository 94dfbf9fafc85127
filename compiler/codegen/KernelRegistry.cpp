//===- KernelRegistry.cpp - the kernel templates' signatures --------------===//
//
// Must match codegen-templates/*.h; test/Codegen/codegen-*.test compiles
// every entry's instantiation, so a mismatch fails there.
//
//===----------------------------------------------------------------------===//

#include "compiler/codegen/KernelRegistry.h"

namespace fd::codegen {

namespace {
using P = TemplateParam;
using A = KernelArg;

/// gemv_w4a16_glu and gemv_w4a16_experts_glu: the gate's and the up
/// matrix's w4a16 buffers, then (experts) the ids, x, y, n and k.
TemplateInfo w4GluTemplate(const std::string &name, bool experts) {
  TemplateInfo t{name,
                 "glu.h",
                 {{P::Int, "ROWS"},
                  {P::Int, "LANES"},
                  {P::Int, "WAVES"},
                  {P::Int, "GROUP"},
                  {P::Bool, "ZEROS"}},
                 {}};
  for (const char *m : {"gate", "up"}) {
    t.args.push_back({A::In, std::string(m) + "Q", "const int32_t *"});
    t.args.push_back({A::In, std::string(m) + "Scales", "const uint16_t *"});
    t.args.push_back({A::In, std::string(m) + "Zeros", "const uint8_t *"});
  }
  if (experts) {
    t.args.push_back({A::In, "expertIds", "const int32_t *"});
  }
  t.args.push_back({A::In, "x", "const uint16_t *"});
  t.args.push_back({A::Out, "y", "uint16_t *"});
  t.args.push_back({A::Scalar, "n", "int"});
  t.args.push_back({A::Scalar, "k", "int"});
  return t;
}

/// gemv_segments<count>: KINDi per segment; arguments x, k, then per
/// segment its weights, scales, zeros, output and rows.
TemplateInfo segmentsTemplate(int count) {
  TemplateInfo t{"gemv_segments" + std::to_string(count),
                 "gemv.h",
                 {{P::Int, "ROWS"},
                  {P::Int, "LANES"},
                  {P::Int, "WAVES"},
                  {P::Int, "GROUP"},
                  {P::Bool, "ZEROS"}},
                 {{A::In, "x", "const uint16_t *"}, {A::Scalar, "k", "int"}}};
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    t.params.push_back({P::Int, "KIND" + n});
    t.args.push_back({A::In, "w" + n, "const void *"});
    t.args.push_back({A::In, "scales" + n, "const uint16_t *"});
    t.args.push_back({A::In, "zeros" + n, "const uint8_t *"});
    t.args.push_back({A::Out, "y" + n, "float *"});
    t.args.push_back({A::Scalar, "n" + n, "int"});
  }
  return t;
}

/// The RMSNorm prologue's optional parameters and arguments (gemv.h's
/// rmsNormPrologue), appended to a template that reads its activations from
/// argument `input`.
TemplateInfo withNormPrologue(TemplateInfo t, const std::string &input) {
  t.params.push_back({P::Int, "NORM", true});
  t.params.push_back({P::Int, "NORM_K", true});
  t.args.push_back({A::In, "normH", "const float *", true});
  t.args.push_back({A::In, "normW", "const uint16_t *", true});
  t.args.push_back({A::Out, "normOut", "uint16_t *", true});
  t.args.push_back({A::Scalar, "normEps", "float", true});
  t.normInput = input;
  return t;
}

std::vector<TemplateInfo> build() {
  const P::Kind I = P::Int, B = P::Bool, T = P::FloatOrBf16;
  const A::Kind In = A::In, Out = A::Out, S = A::Scalar;
  std::vector<TemplateInfo> all = {
      {"gemv_w4a16",
       "gemv.h",
       {{I, "ROWS"},
        {I, "LANES"},
        {I, "M"},
        {I, "WAVES"},
        {I, "GROUP"},
        {B, "ZEROS"},
        {B, "OUT_BF16"},
        {B, "ACCUM"}},
       {{In, "qweight", "const int32_t *"},
        {In, "scales", "const uint16_t *"},
        {In, "zeros", "const uint8_t *"},
        {In, "x", "const uint16_t *"},
        {Out, "y", "void *"},
        {S, "n", "int"},
        {S, "k", "int"}}},
      {"gemv_w4a16_experts",
       "gemv.h",
       {{I, "ROWS"},
        {I, "LANES"},
        {I, "WAVES"},
        {I, "GROUP"},
        {B, "ZEROS"},
        {B, "OUT_BF16"}},
       {{In, "qweight", "const int32_t *"},
        {In, "scales", "const uint16_t *"},
        {In, "zeros", "const uint8_t *"},
        {In, "expertIds", "const int32_t *"},
        {In, "x", "const uint16_t *"},
        {S, "xSlotStride", "int"},
        {Out, "y", "void *"},
        {S, "n", "int"},
        {S, "k", "int"}}},
      {"gemv_bf16",
       "gemv.h",
       {{I, "ROWS"},
        {I, "LANES"},
        {I, "M"},
        {I, "WAVES"},
        {B, "OUT_BF16"},
        {B, "ACCUM"},
        {T, "X_F32"}},
       {{In, "w", "const uint16_t *"},
        {In, "x", "const X_F32 *"},
        {Out, "y", "void *"},
        {S, "n", "int"},
        {S, "k", "int"}}},
      {"gemv_w8a16",
       "gemv.h",
       {{I, "ROWS"},
        {I, "LANES"},
        {I, "M"},
        {I, "WAVES"},
        {I, "GROUP"},
        {B, "OUT_BF16"}},
       {{In, "qweight", "const int8_t *"},
        {In, "scales", "const uint16_t *"},
        {In, "x", "const uint16_t *"},
        {Out, "y", "void *"},
        {S, "n", "int"},
        {S, "k", "int"}}},
      {"gemv_bf16_glu",
       "glu.h",
       {{I, "ROWS"}, {I, "LANES"}, {I, "WAVES"}},
       {{In, "gate", "const uint16_t *"},
        {In, "up", "const uint16_t *"},
        {In, "x", "const uint16_t *"},
        {Out, "y", "uint16_t *"},
        {S, "n", "int"},
        {S, "k", "int"}}},
      {"rms_norm",
       "elementwise.h",
       {{I, "THREADS"}, {B, "ZERO_CENTERED"}, {T, "IN_F32"}, {T, "OUT_F32"}},
       {{In, "x", "const IN_F32 *"},
        {In, "w", "const uint16_t *"},
        {Out, "y", "OUT_F32 *"},
        {S, "d", "int"},
        {S, "eps", "float"}}},
      {"embed",
       "elementwise.h",
       {{I, "THREADS"}, {T, "OUT_F32"}},
       {{In, "table", "const uint16_t *"},
        {In, "ids", "const int32_t *"},
        {Out, "out", "OUT_F32 *"},
        {S, "h", "int"}}},
      {"argmax",
       "elementwise.h",
       {{I, "THREADS"}},
       {{In, "v", "const float *"},
        {S, "n", "int"},
        {Out, "out", "int32_t *"}}},
      {"router_topk",
       "moe.h",
       {{I, "THREADS"}},
       {{In, "logits", "const float *"},
        {S, "e", "int"},
        {S, "k", "int"},
        {S, "renormalize", "int"},
        {Out, "ids", "int32_t *"},
        {Out, "weights", "float *"}}},
      {"silu_mul",
       "moe.h",
       {{I, "THREADS"}},
       {{In, "gate", "const float *"},
        {In, "up", "const float *"},
        {Out, "out", "uint16_t *"},
        {S, "n", "int"}}},
      {"moe_combine",
       "moe.h",
       {{I, "THREADS"}},
       {{Out, "out", "float *"},
        {In, "base", "const float *"},
        {In, "experts", "const float *"},
        {In, "weights", "const float *"},
        {S, "slots", "int"},
        {In, "shared", "const float *"},
        {In, "sharedGate", "const float *"},
        {S, "d", "int"}}},
      {"add_residual",
       "moe.h",
       {{I, "THREADS"}},
       {{Out, "h", "float *"}, {In, "y", "const float *"}, {S, "n", "int"}}},
      {"gdn_conv",
       "mixers.h",
       {{I, "THREADS"}},
       {{In, "x", "const float *"},
        {In, "weight", "const uint16_t *"},
        {Out, "state", "float *"},
        {Out, "mixed", "float *"},
        {S, "channels", "int"},
        {S, "kernelSize", "int"}}},
      {"gdn_decode",
       "mixers.h",
       {{I, "THREADS"},
        {I, "MAX_DK"},
        {I, "RG"},
        {I, "SPLIT"},
        {I, "CONV", true}},
       {{In, "mixed", "const float *"},
        {In, "z", "const float *"},
        {In, "b", "const float *"},
        {In, "a", "const float *"},
        {In, "aLog", "const float *"},
        {In, "dtBias", "const float *"},
        {In, "normWeight", "const float *"},
        {Out, "state", "float *"},
        {Out, "out", "uint16_t *"},
        {Out, "partials", "float *"},
        {Out, "done", "uint32_t *"},
        {S, "hk", "int"},
        {S, "hv", "int"},
        {S, "dk", "int"},
        {S, "dv", "int"},
        {S, "eps", "float"},
        // The conv folded in (CONV, fd-fuse-gdn-conv).
        {In, "convWeight", "const uint16_t *", true},
        {In, "position", "const int32_t *", true},
        {Out, "convState", "float *", true}}},
      {"kv_append",
       "mixers.h",
       {{I, "THREADS"}, {I, "MAX_D"}},
       {{In, "kIn", "const float *"},
        {In, "vIn", "const float *"},
        {In, "kNorm", "const uint16_t *"},
        {S, "zeroCentered", "int"},
        {S, "eps", "float"},
        {S, "rotary", "int"},
        {S, "theta", "float"},
        {In, "position", "const int32_t *"},
        {Out, "kCache", "float *"},
        {Out, "vCache", "float *"},
        {S, "hkv", "int"},
        {S, "d", "int"}}},
      {"attention_decode",
       "mixers.h",
       {{I, "THREADS"},
        {I, "D"},
        {I, "GROUP"},
        {I, "SPLITS"},
        {I, "APPEND", true}},
       {{In, "qIn", "const float *"},
        {In, "qNorm", "const uint16_t *"},
        {S, "zeroCentered", "int"},
        {S, "eps", "float"},
        {S, "rotary", "int"},
        {S, "theta", "float"},
        {In, "position", "const int32_t *"},
        {In, "kCache", "const float *"},
        {In, "vCache", "const float *"},
        {Out, "partials", "float *"},
        {Out, "done", "uint32_t *"},
        {Out, "out", "uint16_t *"},
        {S, "hkv", "int"},
        {S, "qPerKv", "int"},
        {S, "outputGate", "int"},
        {S, "minChunk", "int"},
        // kv_append folded in (APPEND, fd-fuse-kv-append): the token's key
        // and value rows, the key's norm, and the caches written.
        {In, "kIn", "const float *", true},
        {In, "vIn", "const float *", true},
        {In, "kNorm", "const uint16_t *", true},
        {Out, "kCacheOut", "float *", true},
        {Out, "vCacheOut", "float *", true}}},
      {"sample_token",
       "sample.h",
       {{I, "THREADS"}},
       {{In, "logits", "const float *"},
        {S, "n", "int"},
        {S, "temperature", "float"},
        {S, "topK", "int"},
        {S, "topP", "float"},
        {S, "seed", "uint64_t"},
        {In, "step", "const int32_t *"},
        {Out, "out", "int32_t *"}}},
  };
  // The fused MoE templates: the GEMV knobs, then the segment kind.
  const std::vector<P> gemvKnobs = {
      {I, "ROWS"}, {I, "LANES"}, {I, "WAVES"}, {I, "GROUP"}, {B, "ZEROS"}};
  TemplateInfo router{"router_gemv_topk",
                      "moe.h",
                      gemvKnobs,
                      {{In, "x", "const uint16_t *"},
                       {S, "k", "int"},
                       {In, "w", "const void *"},
                       {In, "scales", "const uint16_t *"},
                       {In, "zeros", "const uint8_t *"},
                       {Out, "logits", "float *"},
                       {S, "e", "int"},
                       {S, "topk", "int"},
                       {S, "renormalize", "int"},
                       {Out, "ids", "int32_t *"},
                       {Out, "weights", "float *"},
                       {Out, "done", "uint32_t *"}}};
  router.params.push_back({I, "KIND"});
  // The router with the shared expert's gate/up (SHARED 1 w4a16, 2 bf16).
  TemplateInfo routerGlu = router;
  routerGlu.name = "router_gemv_topk_glu";
  routerGlu.params.push_back({I, "SHARED"});
  for (const char *m : {"gate", "up"}) {
    routerGlu.args.push_back({In, m, "const void *"});
    routerGlu.args.push_back(
        {In, std::string(m) + "Scales", "const uint16_t *"});
    routerGlu.args.push_back({In, std::string(m) + "Zeros", "const uint8_t *"});
  }
  routerGlu.args.push_back({Out, "y", "uint16_t *"});
  routerGlu.args.push_back({S, "n", "int"});
  all.push_back(withNormPrologue(router, "x"));
  all.push_back(withNormPrologue(routerGlu, "x"));
  TemplateInfo gated{"gemv_gated",
                     "moe.h",
                     gemvKnobs,
                     {{In, "x", "const uint16_t *"},
                      {S, "k", "int"},
                      {In, "w", "const void *"},
                      {In, "scales", "const uint16_t *"},
                      {In, "zeros", "const uint8_t *"},
                      {Out, "y", "float *"},
                      {S, "n", "int"},
                      {In, "gateW", "const uint16_t *"},
                      {In, "gateX", "const uint16_t *"},
                      {S, "gk", "int"}}};
  gated.params.push_back({I, "KIND"});
  all.push_back(gated);
  TemplateInfo down{"moe_down_combine",
                    "moe.h",
                    gemvKnobs,
                    {{Out, "out", "float *"},
                     {In, "base", "const float *"},
                     {In, "qweight", "const int32_t *"},
                     {In, "scales", "const uint16_t *"},
                     {In, "zeros", "const uint8_t *"},
                     {In, "expertIds", "const int32_t *"},
                     {In, "routeWeights", "const float *"},
                     {In, "x", "const uint16_t *"},
                     {S, "slots", "int"},
                     {S, "k", "int"},
                     {In, "sharedW", "const void *"},
                     {In, "sharedScales", "const uint16_t *"},
                     {In, "sharedZeros", "const uint8_t *"},
                     {In, "sharedX", "const uint16_t *"},
                     {S, "sharedK", "int"},
                     {In, "gateLogit", "const float *"},
                     {In, "gateW", "const uint16_t *"},
                     {In, "gateX", "const uint16_t *"},
                     {S, "gateK", "int"},
                     {S, "n", "int"}}};
  down.params.push_back({I, "SHARED"});
  all.push_back(down);
  all.push_back(w4GluTemplate("gemv_w4a16_glu", false));
  all.push_back(w4GluTemplate("gemv_w4a16_experts_glu", true));
  for (int count = 2; count <= 4; ++count) {
    all.push_back(withNormPrologue(segmentsTemplate(count), "x"));
  }
  // The plain GEMVs: the unfused plans' first consumers of a norm, and the
  // lm_head.
  for (TemplateInfo &t : all) {
    if (t.name == "gemv_w4a16" || t.name == "gemv_bf16" ||
        t.name == "gemv_w8a16") {
      t = withNormPrologue(std::move(t), "x");
    }
    // The templates that call prefetchBlockRows / prefetchRows before their
    // wait (moe_down_combine: its shared expert; the routed experts are
    // known only after it).
    for (const char *name :
         {"gemv_w4a16", "gemv_bf16", "gemv_w8a16", "gemv_bf16_glu",
          "gemv_w4a16_glu", "gemv_segments2", "gemv_segments3",
          "gemv_segments4", "router_gemv_topk", "router_gemv_topk_glu",
          "gemv_gated", "moe_down_combine"}) {
      t.prefetchesWeights |= t.name == name;
    }
  }
  return all;
}
} // namespace

const std::vector<TemplateInfo> &allTemplates() {
  static const std::vector<TemplateInfo> templates = build();
  return templates;
}

ArgCounts countArgs(const TemplateInfo &t, KernelArg::Kind kind) {
  ArgCounts c;
  for (const KernelArg &a : t.args) {
    if (a.kind == kind) {
      ++c.all;
      c.required += a.optional ? 0 : 1;
    }
  }
  return c;
}

const TemplateInfo *lookupTemplate(const std::string &name) {
  for (const TemplateInfo &t : allTemplates()) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

} // namespace fd::codegen
