//===- PackWeights_test.cpp - packed weights hold the checkpoint's weights ===//
//
// Pack a lowered tiny model, read the file back through the runtime's
// reader, and check every weight buffer against the CPU reference's
// dequantized float32 weights: 4-bit layouts dequantize exactly to them,
// bf16 and f32 buffers hold them exactly.
//
//===----------------------------------------------------------------------===//

#include "compiler/codegen/PackWeights.h"
#include "compiler/codegen/Repack.h"
#include "compiler/import/FloatBits.h"
#include "compiler/import/Importer.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/synth/Synth.h"
#include "compiler/transforms/Passes.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"
#include "fusedecode/weights.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

using namespace fd;
namespace fs = std::filesystem;

namespace {

class PackWeights : public testing::TestWithParam<const char *> {};

TEST_P(PackWeights, BuffersHoldTheReferenceWeights) {
  fs::path dir = fs::path(testing::TempDir()) / "fusedecode-pack" / GetParam();
  fs::remove_all(dir);
  synth::SynthOptions o;
  o.shape = *synth::preset("tiny");
  o.quant = *synth::parseQuantKind(GetParam());
  o.seed = 5;
  ASSERT_EQ(synth::writeCheckpoint(o, (dir / "ckpt").string()), "");

  mlir::DialectRegistry registry;
  import::registerImportDialects(registry);
  registry.insert<fdkernel::FDKernelDialect>();
  mlir::MLIRContext ctx(registry);
  auto module = import::importCheckpoint(ctx, (dir / "ckpt").string());
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto program = reference::buildRefProgram(**module, (dir / "ckpt").string());
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  std::map<std::string, reference::WeightPtr> ref;
  program->forEachWeight(
      [&](const reference::WeightPtr &w) { ref[w->name] = w; });

  mlir::PassManager pm(&ctx);
  pm.addPass(transforms::createLowerToKernelsPass());
  pm.addPass(transforms::createPlanMemoryPass());
  ASSERT_TRUE(mlir::succeeded(pm.run(**module)));
  std::string path = (dir / "weights.fdw").string();
  llvm::Error err =
      codegen::packWeights(**module, (dir / "ckpt").string(), path, 42);
  ASSERT_FALSE(static_cast<bool>(err)) << llvm::toString(std::move(err));

  fd_weights *file = nullptr;
  fd_error_t e = fd_weights_open(path.c_str(), 42, &file);
  ASSERT_EQ(e, nullptr) << fd_error_message(e);
  auto read = [&](const std::string &name) {
    int64_t i = fd_weights_find(file, name.c_str());
    EXPECT_GE(i, 0) << name;
    std::vector<char> bytes(i >= 0 ? fd_weights_entry(file, i)->bytes : 0);
    if (i >= 0) {
      fd_error_t r = fd_weights_read(file, i, bytes.data());
      EXPECT_EQ(r, nullptr) << name << ": " << (r ? fd_error_message(r) : "");
    }
    return bytes;
  };
  size_t checked = 0, companions = 0;
  (**module).walk([&](fdkernel::BufferOp b) {
    if (b.getKind() != fdkernel::BufferKind::weight) {
      return;
    }
    std::string sym = b.getWeight()->str();
    ASSERT_TRUE(ref.count(sym)) << sym;
    const reference::Weight &want = *ref[sym];
    std::string layout = b.getLayout()->str();
    std::string name = b.getSymName().str();
    if (layout == "w4.qweight") {
      codegen::W4RowMajor w;
      int64_t k = want.shape.back();
      w.n = static_cast<int64_t>(want.data.size()) / k; // experts x rows
      w.k = k;
      std::vector<char> q = read(name);
      std::string base =
          name.substr(0, name.size() - std::string(".qweight").size());
      std::vector<char> s = read(base + ".scales");
      w.group = k / (static_cast<int64_t>(s.size()) / 2 / w.n);
      w.qweight.resize(q.size() / 4);
      std::memcpy(w.qweight.data(), q.data(), q.size());
      w.scales.resize(s.size() / 2);
      std::memcpy(w.scales.data(), s.data(), s.size());
      if (fd_weights_find(file, (base + ".zeros").c_str()) >= 0) {
        std::vector<char> z = read(base + ".zeros");
        w.zeros.assign(z.begin(),
                       z.begin() + static_cast<int64_t>(w.scales.size()));
      }
      EXPECT_EQ(codegen::dequantRowMajor(w), want.data) << name;
      ++checked;
    } else if (layout == "w4.scales" || layout == "w4.zeros") {
      ++companions;
    } else if (layout == "f32" || layout == "bf16") {
      std::vector<char> bytes = read(name);
      for (size_t i = 0; i < want.data.size(); ++i) {
        float got;
        if (layout == "f32") {
          std::memcpy(&got, bytes.data() + 4 * i, 4);
        } else {
          uint16_t b;
          std::memcpy(&b, bytes.data() + 2 * i, 2);
          got = import::bf16BitsToFloat(b);
        }
        ASSERT_EQ(got, want.data[i]) << name << " element " << i;
      }
      ++checked;
    }
  });
  // Every buffer is in the file; scales and zeros were checked with their
  // qweight.
  EXPECT_EQ(checked + companions, fd_weights_count(file));
  EXPECT_GT(checked, 40u);
  fd_weights_close(file);
}

INSTANTIATE_TEST_SUITE_P(Quant, PackWeights,
                         testing::Values("autoround-int4", "gptq-int4-asym",
                                         "compressed-w4a16"),
                         [](const testing::TestParamInfo<const char *> &i) {
                           std::string n = i.param;
                           for (char &c : n) {
                             if (c == '-') {
                               c = '_';
                             }
                           }
                           return n;
                         });

} // namespace
