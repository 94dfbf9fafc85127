//===- RefProgramJson_test.cpp - the program compile-model stores ---------===//
//
// What compile-model writes as reference.json reads back into a program
// that runs exactly like the one built from the checkpoint, and every way
// the text can be wrong is a one-line error.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Importer.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/reference/RefExecutor.h"
#include "compiler/reference/RefProgramJson.h"

#include "test/support/TestCheckpoint.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <map>

using namespace fd;

namespace {

struct Built {
  reference::RefProgram withData, shapesOnly;
};

Built build(const char *preset) {
  test::TestCheckpoint c =
      test::TestCheckpoint::tiny(synth::QuantKind::AutoRoundInt4, preset);
  std::string dir = test::freshDir(std::string("json-") + preset);
  c.write(dir);
  mlir::DialectRegistry registry;
  import::registerImportDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = llvm::cantFail(import::importCheckpoint(ctx, dir));
  Built b;
  b.withData = llvm::cantFail(reference::buildRefProgram(*module, dir));
  b.shapesOnly =
      llvm::cantFail(reference::buildRefProgram(*module, dir, false));
  return b;
}

/// Resolves weights from a program built with data, checking the shape the
/// JSON carries against it.
reference::WeightResolver from(const reference::RefProgram &p) {
  auto byName = std::make_shared<std::map<std::string, reference::WeightPtr>>();
  p.forEachWeight(
      [&](const reference::WeightPtr &w) { (*byName)[w->name] = w; });
  return [byName](const std::string &name, const std::vector<int64_t> &shape,
                  std::string &error) -> reference::WeightPtr {
    auto it = byName->find(name);
    if (it == byName->end() || it->second->shape != shape) {
      error = "no weight '" + name + "' of that shape";
      return nullptr;
    }
    return it->second;
  };
}

class RefProgramJson : public testing::TestWithParam<const char *> {};

TEST_P(RefProgramJson, RoundTripRunsIdentically) {
  Built b = build(GetParam());
  // Data or not, the structure serialises the same.
  std::string text = reference::refProgramToJson(b.shapesOnly);
  EXPECT_EQ(text, reference::refProgramToJson(b.withData));
  reference::RefProgram back;
  ASSERT_EQ(reference::refProgramFromJson(text, from(b.withData), back), "");
  EXPECT_EQ(reference::refProgramToJson(back), text);
  reference::RefExecutor want(b.withData), got(std::move(back));
  std::vector<int32_t> prompt = {1, 17, 42, 99};
  EXPECT_EQ(want.generate(prompt, 6).logits, got.generate(prompt, 6).logits);
}

INSTANTIATE_TEST_SUITE_P(Presets, RefProgramJson,
                         testing::Values("tiny", "tiny-qwen3-moe"),
                         [](const testing::TestParamInfo<const char *> &i) {
                           return std::string(i.param) == "tiny" ? "qwen35"
                                                                 : "qwen3";
                         });

TEST(RefProgramJsonErrors, OneLinePerProblem) {
  Built b = build("tiny");
  const std::string good = reference::refProgramToJson(b.shapesOnly);
  auto parse = [&](const std::string &text) {
    reference::RefProgram p;
    return reference::refProgramFromJson(text, from(b.withData), p);
  };
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string t = good;
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? t : t.replace(at, from.size(), to);
  };
  struct Case {
    std::string text, error;
  } cases[] = {
      {"{", "malformed JSON"},
      {"[1]", "malformed JSON"},
      {replaced("\"fusedecode-reference\"", "\"other\""),
       "not a version 1 fusedecode reference program"},
      {replaced("\"op\": \"embed\"", "\"op\": \"conv3d\""),
       "unknown step 'conv3d'"},
      {replaced("\"eps\":", "\"epsilon\":"), "step 'rms_norm' lacks 'eps'"},
      {replaced("\"table\":", "\"tables\":"),
       "step 'embed' lacks weight 'table'"},
      {replaced("\"layer\": 0", "\"layer\": \"zero\""), "bad field: "},
      {replaced("\"in\": [\n    0\n   ]", "\"in\": [\n    7\n   ]"),
       "step 'embed' reads value 7 before it is made"},
      {replaced("\"op\": \"sample\"", "\"op\": \"add\""),
       "the program does not end with the sampled token"},
  };
  for (const Case &c : cases) {
    std::string err = parse(c.text);
    EXPECT_EQ(err.rfind(c.error, 0), 0u) << "got: " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
  // The resolver's error comes through as it is.
  EXPECT_EQ(parse(replaced("\"embed_tokens\": [", "\"embed_tokens\": [3,")),
            "no weight 'embed_tokens' of that shape");
}

} // namespace
