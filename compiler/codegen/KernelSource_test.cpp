//===- KernelSource_test.cpp - launches against the template registry -----===//

#include "compiler/codegen/KernelSource.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace fd::codegen;

namespace {

/// A decode step of one gemv_bf16 launch whose ins, outs and scalars are
/// given as text.
std::string step(const std::string &params, const std::string &operands) {
  return R"(
    fdkernel.buffer @h #fdkernel.buffer_kind<arena> size 256 offset 0
    fdkernel.buffer @x #fdkernel.buffer_kind<arena> size 128 offset 0
    fdkernel.buffer @y #fdkernel.buffer_kind<arena> size 2048 offset 0
    fdkernel.buffer @wn #fdkernel.buffer_kind<weight> size 128 offset 0 weight @norm layout "bf16"
    fdkernel.buffer @w #fdkernel.buffer_kind<weight> size 65536 offset 0 weight @head layout "bf16"
    fdkernel.step "decode" {
      fdkernel.launch "gemv_bf16" <{ACCUM = false, LANES = 8, M = 1, OUT_BF16 = false, ROWS = 1, WAVES = 2, X_F32 = false)" +
         params + R"(}> target <sm_90> grid [64, 1, 1] block [64, 1, 1] )" +
         operands + R"(
    })";
}

llvm::Expected<KernelSource> generate(mlir::MLIRContext &ctx,
                                      const std::string &text) {
  ctx.loadDialect<fd::fdkernel::FDKernelDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  EXPECT_TRUE(module) << text;
  return generateKernelSource(*module);
}

TEST(KernelSource, AbsentOptionalParametersAndArgumentsAreTheDefaults) {
  mlir::MLIRContext ctx;
  auto src = generate(
      ctx,
      step("", "ins [@w, @x] outs [@y] scalars {k = 64 : i32, n = 512 : i32}"));
  ASSERT_TRUE(bool(src)) << llvm::toString(src.takeError());
  ASSERT_EQ(src->instances.size(), 1u);
  // NORM and NORM_K spelled as the template's defaults; the signature has
  // the optional arguments (the explicit instantiation must match).
  EXPECT_EQ(src->instances[0].spelled,
            "fd::kernels::gemv_bf16<1, 8, 1, 2, false, false, uint16_t, 0, 0>");
  EXPECT_NE(src->text.find("int, int, const float *, const uint16_t *, "
                           "uint16_t *, float);"),
            std::string::npos)
      << src->text;
}

TEST(KernelSource, AllOptionalArgumentsAreAccepted) {
  mlir::MLIRContext ctx;
  auto src = generate(
      ctx, step(", NORM = 1, NORM_K = 64",
                "ins [@w, @__null, @h, @wn] outs [@y, @__null] scalars {k = "
                "64 : i32, n = 512 : i32, normEps = 1.0e-06 : f32}"));
  ASSERT_TRUE(bool(src)) << llvm::toString(src.takeError());
  EXPECT_EQ(
      src->instances[0].spelled,
      "fd::kernels::gemv_bf16<1, 8, 1, 2, false, false, uint16_t, 1, 64>");
}

TEST(KernelSource, SomeOptionalArgumentsAreAnError) {
  mlir::MLIRContext ctx;
  // The norm's inputs without its output and scalar.
  auto src = generate(ctx, step(", NORM = 1, NORM_K = 64",
                                "ins [@w, @__null, @h, @wn] outs [@y] scalars "
                                "{k = 64 : i32, n = 512 : i32}"));
  ASSERT_FALSE(bool(src));
  const std::string msg = llvm::toString(src.takeError());
  EXPECT_NE(msg.find("launch of 'gemv_bf16'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expects 2 inputs, 1 outputs and 2 scalars (or 4, 2 and "
                     "3 with the optional ones)"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

} // namespace
