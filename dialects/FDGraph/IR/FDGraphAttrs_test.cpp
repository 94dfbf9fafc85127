//===- FDGraphAttrs_test.cpp - attribute verifiers unreachable from text --===//
//
// The textual syntax cannot spell an empty shard list; C++ builders can.
//
//===----------------------------------------------------------------------===//

#include "dialects/FDGraph/IR/FDGraphDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace fd::fdgraph;

TEST(FDGraphAttrs, TensorRefNeedsAShard) {
  MLIRContext ctx;
  ctx.loadDialect<FDGraphDialect>();
  std::string diag;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diag = d.str();
    return success();
  });
  auto type = RankedTensorType::get({4}, Float32Type::get(&ctx));
  auto emit = [&] { return emitError(UnknownLoc::get(&ctx)); };
  EXPECT_TRUE(failed(TensorRefAttr::verify(emit, "w", type, {})));
  EXPECT_EQ(diag, "expects at least one shard index for 'w'");
  EXPECT_TRUE(
      succeeded(TensorRefAttr::verify(emit, "e.{e}.w", type, {0, 1, 1})));
}
