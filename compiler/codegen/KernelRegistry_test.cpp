//===- KernelRegistry_test.cpp - the registry against the templates' code -===//
//
// Overlapped launches are only correct if every kernel waits for the
// previous launch before it touches data another launch writes, and only
// useful where the kernel prefetches its weights before that wait: the
// registry's prefetchesWeights must say what the code does.
//
//===----------------------------------------------------------------------===//

#include "compiler/codegen/KernelRegistry.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

using namespace fd::codegen;

namespace {

std::string readHeader(const std::string &header) {
  std::ifstream in(std::string(FD_SOURCE_DIR) + "/codegen-templates/" +
                   header);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The body of kernel `name` in `text` (between its braces), or empty.
std::string kernelBody(const std::string &text, const std::string &name) {
  const std::regex def("FD_GLOBAL\\s+void\\s+FD_LAUNCH_BOUNDS\\([^)]*\\)\\s*" +
                       name + "\\(");
  std::smatch m;
  if (!std::regex_search(text, m, def)) {
    return {};
  }
  size_t open = text.find('{', m.position(0) + m.length(0));
  if (open == std::string::npos) {
    return {};
  }
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    depth += text[i] == '{';
    depth -= text[i] == '}';
    if (depth == 0) {
      return text.substr(open + 1, i - open - 1);
    }
  }
  return {};
}

TEST(KernelRegistry, EveryKernelWaitsAndPrefetchMatchesTheCode) {
  const std::regex prefetchCall("\\b(prefetch\\w*|\\w+Prefetch)\\s*<");
  int prefetching = 0;
  for (const TemplateInfo &t : allTemplates()) {
    SCOPED_TRACE(t.name);
    const std::string body = kernelBody(readHeader(t.header), t.name);
    ASSERT_FALSE(body.empty()) << "no definition of " << t.name << " in "
                               << t.header;
    const size_t wait = body.find("waitForPreviousLaunch();");
    ASSERT_NE(wait, std::string::npos)
        << t.name << " never calls waitForPreviousLaunch";
    std::smatch m;
    const std::string before = body.substr(0, wait);
    const bool prefetches = std::regex_search(before, m, prefetchCall);
    EXPECT_EQ(prefetches, t.prefetchesWeights)
        << t.name << (prefetches ? " prefetches" : " does not prefetch")
        << " before its wait, the registry says otherwise";
    prefetching += t.prefetchesWeights;
  }
  // The GEMV family prefetches; the mixers and elementwise kernels do not.
  EXPECT_GE(prefetching, 10);
  EXPECT_FALSE(lookupTemplate("rms_norm")->prefetchesWeights);
  EXPECT_FALSE(lookupTemplate("gemv_w4a16_experts_glu")->prefetchesWeights);
}

} // namespace
