//===- DeviceCompiler_test.cpp - real device compiles, resources read back ===//

#include "compiler/codegen/DeviceCompiler.h"

#include "llvm/Support/Program.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace fd::codegen;

namespace {

std::string instantiateSource() {
  std::ifstream in(std::string(FD_SOURCE_DIR) +
                   "/codegen-templates/test/instantiate.hip");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DeviceCompileOptions options() {
  DeviceCompileOptions o;
  o.includeDirs = {std::string(FD_SOURCE_DIR) + "/codegen-templates",
                   FD_SOURCE_DIR};
  return o;
}

TEST(DeviceCompiler, Gfx1151CodeObjectAndResources) {
  auto bin =
      compileForTarget(instantiateSource(), GpuTarget::Gfx1151, options());
  ASSERT_TRUE(static_cast<bool>(bin)) << llvm::toString(bin.takeError());
  ASSERT_GE(bin->image.size(), 4u);
  EXPECT_EQ(std::string(bin->image.begin(), bin->image.begin() + 4), "\x7f"
                                                                     "ELF");
  EXPECT_EQ(bin->kernels.size(), 41u);
  for (const KernelResources &k : bin->kernels) {
    EXPECT_GT(k.vgprs, 0) << k.name;
    EXPECT_GT(k.sgprs, 0) << k.name;
    EXPECT_GE(k.occupancyWavesPerSimd, 1) << k.name;
    EXPECT_LE(k.occupancyWavesPerSimd, 16) << k.name;
    EXPECT_EQ(k.scratchBytesPerLane, 0) << k.name;
    EXPECT_EQ(k.spillStores, 0) << k.name;
  }
  EXPECT_NE(bin->compilerVersion.find("clang version 22"), std::string::npos)
      << bin->compilerVersion;
}

TEST(DeviceCompiler, Sm90CubinAndResources) {
  if (!llvm::sys::findProgramByName("nvcc")) {
    GTEST_SKIP() << "nvcc not installed";
  }
  auto bin = compileForTarget(instantiateSource(), GpuTarget::Sm90, options());
  ASSERT_TRUE(static_cast<bool>(bin)) << llvm::toString(bin.takeError());
  EXPECT_EQ(std::string(bin->image.begin(), bin->image.begin() + 4), "\x7f"
                                                                     "ELF");
  EXPECT_EQ(bin->kernels.size(), 41u);
  for (const KernelResources &k : bin->kernels) {
    EXPECT_GT(k.registers, 0) << k.name;
    EXPECT_EQ(k.spillStores, 0) << k.name;
    EXPECT_EQ(k.spillLoads, 0) << k.name;
  }
  EXPECT_NE(bin->compilerVersion.find("cuda"), std::string::npos)
      << "[" << bin->compilerVersion << "]";
}

TEST(DeviceCompiler, CompileErrorIsOneLine) {
  auto bin = compileForTarget("#include \"gemv.h\"\nthis is not C++;\n",
                              GpuTarget::Gfx1151, options());
  ASSERT_FALSE(static_cast<bool>(bin));
  std::string msg = llvm::toString(bin.takeError());
  EXPECT_NE(msg.find("gfx1151 device compile failed: "), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("error"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(DeviceCompiler, MissingCompiler) {
  DeviceCompileOptions o = options();
  o.clang = "clang++-does-not-exist";
  auto bin = compileForTarget("", GpuTarget::Gfx1100, o);
  ASSERT_FALSE(static_cast<bool>(bin));
  EXPECT_EQ(llvm::toString(bin.takeError()),
            "clang++-does-not-exist: not found on PATH");
}

TEST(DeviceCompiler, ParsesReports) {
  auto amd = parseAmdRemarks(
      "x.h:1:1: remark: Function Name: _Z1fv "
      "[-Rpass-analysis=kernel-resource-usage]\n"
      "x.h:1:1: remark:     TotalSGPRs: 17 [-Rpass]\n"
      "x.h:1:1: remark:     VGPRs: 157 [-Rpass]\n"
      "x.h:1:1: remark:     ScratchSize [bytes/lane]: 0 [-Rpass]\n"
      "x.h:1:1: remark:     Occupancy [waves/SIMD]: 8 [-Rpass]\n"
      "x.h:1:1: remark:     VGPRs Spill: 3 [-Rpass]\n"
      "x.h:1:1: remark:     LDS Size [bytes/block]: 512 [-Rpass]\n");
  ASSERT_EQ(amd.size(), 1u);
  EXPECT_EQ(amd[0].name, "_Z1fv");
  EXPECT_EQ(amd[0].vgprs, 157);
  EXPECT_EQ(amd[0].sgprs, 17);
  EXPECT_EQ(amd[0].occupancyWavesPerSimd, 8);
  EXPECT_EQ(amd[0].spillStores, 3);
  EXPECT_EQ(amd[0].ldsBytes, 512);
  auto nv = parsePtxasInfo(
      "ptxas info    : Compiling entry function '_Z1gv' for 'sm_90'\n"
      "ptxas info    : Function properties for _Z1gv\n"
      "    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads\n"
      "ptxas info    : Used 136 registers, used 1 barriers, 32 bytes smem\n");
  ASSERT_EQ(nv.size(), 1u);
  EXPECT_EQ(nv[0].registers, 136);
  EXPECT_EQ(nv[0].stackBytes, 16);
  EXPECT_EQ(nv[0].spillStores, 8);
  EXPECT_EQ(nv[0].spillLoads, 4);
  EXPECT_EQ(nv[0].sharedBytes, 32);
}

} // namespace
