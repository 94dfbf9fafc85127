//===- TargetInfo.cpp - the numbers the cost model needs per GPU ----------===//

#include "compiler/costmodel/TargetInfo.h"

#include <algorithm>

namespace fd::costmodel {

namespace {

int roundUp(int v, int g) { return (v + g - 1) / g * g; }

const TargetInfo kTargets[] = {
    // Strix Halo (Radeon 8060S, RDNA3.5). 40 CUs = 20 WGPs of 4 SIMD32
    // (AMD product page). 1536 VGPRs per lane per SIMD in wave32, allocated
    // 24 at a time, 16 waves per SIMD: LLVM AMDGPUUsage / AMDGPUBaseInfo
    // (gfx1151 has the full gfx1100 register file), and what clang-22
    // reports here — 112 VGPRs give 12 waves (1536 / 120). 128 KiB LDS per
    // WGP (router_topk's >32 KiB give 3 groups of 8 waves = 6 per SIMD,
    // as clang reports). 256 GB/s: LPDDR5X-8000 on a 256-bit bus
    // (design.md §4). Launch cost: 0 = not measured (no AMD GPU in reach).
    // Memory latency 0.8 us: an assumption, not a measurement — RDNA3 GPU
    // DRAM latency is in the 0.5-0.7 us range in published pointer-chase
    // tests and the APU's LPDDR5X behind its fabric is slower.
    // Last-level cache: 32 MB Infinity Cache (MALL) behind 2 MB L2 (AMD
    // product page of the Radeon 8060S).
    {"gfx1151", true, 20, 4, 32, 1536, 24, 16, 0, 128 * 1024, 256e9, 0.0, 0.8,
     34 << 20},
    // Radeon RX 7900 XTX (RDNA3): 96 CUs = 48 WGPs, same register file and
    // LDS per WGP as above (LLVM AMDGPUUsage); 960 GB/s GDDR6 (AMD spec).
    // Memory latency: the same assumption as gfx1151's, less the APU fabric.
    // 96 MB Infinity Cache behind 6 MB L2 (AMD product page).
    {"gfx1100", true, 48, 4, 32, 1536, 24, 16, 0, 128 * 1024, 960e9, 0.0, 0.6,
     102 << 20},
    // H100 SXM5: 132 SMs, 65,536 registers per SM allocated 256 per warp,
    // 64 warps and 32 blocks per SM, 228 KiB shared memory per SM (CUDA
    // C++ Programming Guide, compute capability 9.0 table). 3.1 TB/s: the
    // read bandwidth measured on the project's H100 (design.md §4); ~1.9
    // µs per launch replayed in a graph (docs/performance.md, 95 launches
    // in 0.180 ms). Memory latency 0.35 us: a dependent load on the
    // project's H100, measured by bench/probe_memory.cu (pointer chase over
    // 1 GiB, 349.9 ns per hop, unloaded; docs/performance.md). 50 MB L2
    // (NVIDIA H100 Tensor Core GPU Architecture whitepaper).
    // Programmatic dependent launch: compute capability 9.0 and later (CUDA
    // C++ Programming Guide).
    // Attention blocks of at least 32 positions: 2.563-2.577 -> 2.520 ms
    // per token on the H200 at 128/128, tokens unchanged (2026-12-03,
    // docs/performance.md). The AMD targets keep one position per wave
    // (not measured there).
    // RMSNorm folded into readers of up to 32768 rows (GDN's in_proj and
    // attention's q | k | v too): 2.458-2.468 -> 2.389-2.392 ms per token
    // on the H200, tokens unchanged, the prologue bit-exact at 8 waves
    // (2026-12-03, docs/performance.md). The AMD targets keep 4096 (the
    // router only), as measured on the H100 in stream order before the
    // one-round prologue; not measured on AMD.
    // Activation loads: 11.5 TB/s through the SMs' L1. On the H200 (the
    // H100's SM at the same clocks), bench/probe_w4bound.cu's twin kernel
    // with and without gemv_w4a16's x loads: +1.38, +1.52 and +1.50 us for
    // 16.8 MB of them at in_proj, out_proj and an expert's gate, +0.31 us
    // for 4.2 MB at K = 512 with 16 lanes (2026-12-03, docs/performance.md).
    // Not measured on the AMD targets: no term there.
    {"sm_90", false, 132, 1, 32, 65536, 256, 64, 32, 228 * 1024, 3.1e12, 1.9,
     0.35, 50 << 20, true, 32, 32768, 11.5e12},
};

} // namespace

const TargetInfo *lookupTarget(const std::string &name) {
  for (const TargetInfo &t : kTargets) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

Occupancy occupancy(const TargetInfo &t, int registers, int64_t localBytes,
                    int blockThreads) {
  const int wavesPerBlock =
      std::max(1, (blockThreads + t.waveSize - 1) / t.waveSize);
  Occupancy o;
  o.waves = t.maxWaves;
  o.limitedBy = "waves";
  auto limit = [&](int waves, const char *why) {
    if (waves < o.waves) {
      o.waves = waves;
      o.limitedBy = why;
    }
  };
  if (t.amd) {
    // Per SIMD: the register file over each wave's rounded allocation; LDS
    // per WGP over each group's, spread over the WGP's SIMDs — rounded up,
    // as LLVM's AMDGPU occupancy does (a SIMD may hold one wave more than
    // the average).
    limit(t.registerFile / roundUp(std::max(registers, 1), t.registerGranule),
          "registers");
    if (localBytes > 0) {
      int64_t groups = t.localMemoryPerUnit / localBytes;
      limit(static_cast<int>((groups * wavesPerBlock + t.simdsPerUnit - 1) /
                             t.simdsPerUnit),
            "local memory");
    }
  } else {
    // Per SM, in whole blocks: registers by warp allocation, shared memory,
    // the block limit and the warp limit.
    const int regsPerWarp =
        roundUp(std::max(registers, 1) * t.waveSize, t.registerGranule);
    const int blocksByWaves = t.maxWaves / wavesPerBlock;
    const int blocksByRegs = (t.registerFile / regsPerWarp) / wavesPerBlock;
    int blocks = blocksByWaves;
    o.limitedBy = "waves";
    auto limitBlocks = [&](int b, const char *why) {
      if (b < blocks) {
        blocks = b;
        o.limitedBy = why;
      }
    };
    limitBlocks(blocksByRegs, "registers");
    limitBlocks(t.maxBlocksPerUnit, "blocks");
    if (localBytes > 0) {
      limitBlocks(static_cast<int>(t.localMemoryPerUnit / localBytes),
                  "local memory");
    }
    o.waves = blocks * wavesPerBlock;
  }
  o.waves = std::max(o.waves, 0);
  o.fraction = static_cast<double>(o.waves) / t.maxWaves;
  return o;
}

} // namespace fd::costmodel
