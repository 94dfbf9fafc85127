//===- AutoRoundFixture_test.cpp - real auto-round output, weight by weight
//===//
//
// test/fixtures/autoround-tiny was written by the PyPI package auto-round
// 0.16.1 (RTN, iters 0) from fd-synth's tiny bf16 Qwen3.5-MoE; see
// test/fixtures/README.md. test/goldens/autoround-real.seen.safetensors holds,
// for every layer auto-round quantized, the weight matrix transformers
// computes with (auto-round's inference path, read back by pushing the
// identity through the layer). Our importer and dequantization must produce
// the same matrices.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Importer.h"
#include "compiler/import/Safetensors.h"
#include "compiler/reference/RefBuilder.h"
#include "dialects/FDGraph/IR/FDGraphOps.h"

#include "test/support/TestCheckpoint.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <regex>

using namespace fd;

namespace {

TEST(AutoRoundFixture, DequantizedWeightsMatchTransformers) {
  std::string fixture = std::string(FD_FIXTURES_DIR) + "/autoround-tiny";
  mlir::DialectRegistry registry;
  import::registerImportDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = import::importCheckpoint(ctx, fixture);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  // The fixture's own quantization_config (regex extra_config keys, bf16
  // router and gate) imports as AutoRound int4 g32.
  int quantized = 0;
  (**module).walk([&](fdgraph::WeightOp w) {
    if (auto q = w.getQuant()) {
      ++quantized;
      EXPECT_EQ(q->getScheme(), fdgraph::QuantScheme::autoround);
      EXPECT_EQ(q->getGroupSize(), 32);
    }
  });
  EXPECT_GT(quantized, 0);
  auto program = reference::buildRefProgram(**module, fixture);
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  std::map<std::string, reference::WeightPtr> weights;
  auto add = [&](const reference::WeightPtr &w) {
    if (w) {
      weights[w->name] = w;
    }
  };
  for (const reference::Step &s : program->steps) {
    if (const auto *l = std::get_if<reference::LinearStep>(&s.kind)) {
      add(l->weight);
    } else if (const auto *m = std::get_if<reference::MoEStep>(&s.kind)) {
      for (const auto &w :
           {m->router, m->gate, m->up, m->gateUp, m->down, m->sharedGate,
            m->sharedUp, m->sharedDown, m->sharedExpertGate}) {
        add(w);
      }
    }
  }

  std::string goldens = FD_GOLDENS_DIR;
  auto shard =
      import::readSafetensorsHeader(goldens, "autoround-real.seen.safetensors");
  ASSERT_TRUE(static_cast<bool>(shard)) << llvm::toString(shard.takeError());
  std::string bytes = test::readFile(shard->path);
  std::regex expert(
      R"(model\.(layers\.\d+\.mlp\.experts)\.(\d+)\.(\w+)\.weight)");
  double worst = 0;
  for (const import::TensorInfo &t : shard->tensors) {
    std::smatch m;
    std::string symbol;
    int64_t e = -1;
    if (std::regex_match(t.name, m, expert)) {
      symbol = m[1].str() + "." + m[3].str();
      e = std::stoll(m[2].str());
    } else {
      ASSERT_EQ(t.name.rfind("model.", 0), 0u) << t.name;
      symbol =
          t.name.substr(6, t.name.size() - 6 - 7); // drop "model." ".weight"
    }
    ASSERT_TRUE(weights.count(symbol))
        << "no weight " << symbol << " for " << t.name;
    const reference::Weight &w = *weights[symbol];
    int64_t n = t.shape[0], k = t.shape[1];
    const float *ours = w.data.data() + (e < 0 ? 0 : e * n * k);
    std::vector<float> theirs(static_cast<size_t>(n * k));
    std::memcpy(theirs.data(), bytes.data() + t.begin, theirs.size() * 4);
    for (int64_t i = 0; i < n * k; ++i) {
      // auto-round's path forms (q - zero) * scale in fp16: within half an
      // fp16 ulp of the exact product that float32 holds.
      double diff = std::abs(static_cast<double>(ours[i]) - theirs[i]);
      double ulp = std::ldexp(
          1.0, std::ilogb(std::max(std::abs(theirs[i]), 6.1e-5f)) - 10);
      ASSERT_LE(diff, 0.5 * ulp) << t.name << " element " << i << ": "
                                 << ours[i] << " vs " << theirs[i];
      worst = std::max(worst, diff);
    }
  }
  std::cout << "[ autoround] " << shard->tensors.size()
            << " quantized layers, worst |dw| = " << worst << "\n";
}

} // namespace
