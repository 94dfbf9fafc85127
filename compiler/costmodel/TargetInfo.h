//===- TargetInfo.h - the numbers the cost model needs per GPU --*- C++ -*-===//
//
// One description per --target: execution units, wave size, register file
// and its allocation granule, wave and block limits, local memory, memory
// bandwidth and launch overhead, each with its source in TargetInfo.cpp;
// and the occupancy those limits give a kernel, from the registers and local
// memory its compiler reports. Plain C++.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_COSTMODEL_TARGETINFO_H
#define FUSEDECODE_COMPILER_COSTMODEL_TARGETINFO_H

#include <cstdint>
#include <string>

namespace fd::costmodel {

struct TargetInfo {
  std::string name; // gfx1151, gfx1100, sm_90
  bool amd = false;
  /// AMD: workgroup processors (WGP mode, the compiler's default on gfx10+);
  /// NVIDIA: streaming multiprocessors.
  int units = 0;
  /// SIMDs per unit (AMD: 4 SIMD32 per WGP); NVIDIA: 1 (warps are counted
  /// per SM).
  int simdsPerUnit = 1;
  int waveSize = 32;
  /// AMD: VGPRs per lane per SIMD; NVIDIA: 32-bit registers per SM.
  int registerFile = 0;
  /// AMD: VGPRs per lane a wave allocates at a time; NVIDIA: registers per
  /// warp allocated at a time.
  int registerGranule = 0;
  /// AMD: waves per SIMD; NVIDIA: warps per SM.
  int maxWaves = 0;
  /// NVIDIA: resident blocks per SM (AMD: not the binding limit here).
  int maxBlocksPerUnit = 0;
  /// Local memory (LDS / shared memory) per unit, bytes.
  int64_t localMemoryPerUnit = 0;
  /// DRAM bandwidth, bytes per second (measured where we could, see .cpp).
  double bandwidth = 0;
  /// Per launch inside a replayed graph, microseconds; 0 where it has not
  /// been measured (the AMD targets).
  double launchMicroseconds = 0;
  /// Loaded DRAM latency, microseconds: how long a wave waits for a batch
  /// of loads (the cost model's latency term).
  double memoryLatencyMicros = 0;
  /// Bytes the last cache level in front of DRAM holds: the tuner rotates
  /// its inputs over several times this so timings are not served from it.
  int64_t lastLevelCacheBytes = 0;
  /// NVIDIA sm_90 and later: a launch may start while the previous one in
  /// the stream finishes (programmatic dependent launch; the kernels wait
  /// in waitForPreviousLaunch, platform/nvidia.h).
  bool overlapLaunches = false;
  /// compile-model's default when this target is the plan's (the first
  /// --target), measured where we could (see .cpp): the fewest KV positions
  /// one attention_decode block takes.
  int64_t attentionMinChunk = 8;
  /// compile-model's default --fuse-rms-norm-max-rows when this target is
  /// the plan's: the most output rows of a reader that takes the RMSNorm
  /// prologue (every block repeats it).
  int64_t normFoldMaxRows = 4096;
  /// Bytes per second the w4 steps' activation loads move through L1 over
  /// the whole GPU, as measured added to a launch's time (the cost model's
  /// activation term); 0 where not measured (no term).
  double activationLoadBandwidth = 0;
};

/// The description of `name`, or null.
const TargetInfo *lookupTarget(const std::string &name);

/// Waves (AMD: per SIMD; NVIDIA: warps per SM) resident for a kernel using
/// `registers` per lane / thread and `localBytes` of LDS / shared memory per
/// block of `blockThreads`, and that as a fraction of the peak.
struct Occupancy {
  int waves = 0;
  double fraction = 0;
  const char *limitedBy = ""; // "waves", "registers", "local memory", "blocks"
};
Occupancy occupancy(const TargetInfo &t, int registers, int64_t localBytes,
                    int blockThreads);

} // namespace fd::costmodel

#endif
