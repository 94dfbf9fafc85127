//===- bench.h - the device's streaming-read bandwidth ----------*- C++ -*-===//
//
// Every compiled model carries this kernel so that `bench` measures the
// roofline on the device it runs on, in the same run, through the same
// platform layer and load instruction as the GEMVs (16-byte streaming
// loads). Each 256-thread block reads 8 consecutive 4 KiB tiles (one 16-byte
// load per thread per tile, all in flight before the first use); the XOR of
// what it read is stored only when it equals a value random data is
// practically never, so the loads stay while nothing is written.
//
// extern "C": the runtime finds it by this name in any plan's code object.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEMPLATES_BENCH_H
#define FUSEDECODE_TEMPLATES_BENCH_H

#include "platform/platform.h"

/// `count` 16-byte words from `src`; launch ceil(count / 2048) blocks of 256.
extern "C" FD_GLOBAL void FD_LAUNCH_BOUNDS(256)
    fd_stream_read(const fd::gpu::Vec4i *src, uint64_t count, uint32_t *sink) {
  fd::gpu::waitForPreviousLaunch();
  constexpr int kThreads = 256, kUnroll = 8;
  const uint64_t first =
      static_cast<uint64_t>(fd::gpu::blockX()) * kThreads * kUnroll +
      static_cast<uint64_t>(fd::gpu::threadX());
  fd::gpu::Vec4i v[kUnroll];
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    const uint64_t i = first + static_cast<uint64_t>(u) * kThreads;
    v[u] =
        i < count ? fd::gpu::loadStream16(src + i) : fd::gpu::Vec4i{0, 0, 0, 0};
  }
  int32_t acc = 0;
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) {
    acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  if (acc == 0x5EED5EED) {
    sink[0] = static_cast<uint32_t>(acc);
  }
}

#endif
