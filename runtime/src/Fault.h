//===- Fault.h - test-only fault injection ----------------------*- C++ -*-===//
//
// Builds with FD_FAULT_INJECTION (the sanitizer build, or -DFD_FAULT_INJECTION
// =ON) let a test make the runtime fail at a chosen point, to check that each
// failure reaches the caller as a one-line status, leaks nothing and leaves
// no partial output. Armed by the environment, FD_FAULT=<site>:<n> (the n-th
// time the site is reached fails; for device-lost, every call from then on),
// or by armFault() from a test. Other builds compile every hook to `false`:
// no user ever reaches these paths.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_FAULT_H
#define FUSEDECODE_RUNTIME_FAULT_H

#include <cstdint>

namespace fd::runtime {

enum class FaultSite {
  ShortRead,   // "short-read": a tensor read from weights.fdw comes up short
  Checksum,    // "checksum": a tensor's bytes do not match their checksum
  Step,        // "step": a decode step fails (either backend)
  DeviceAlloc, // "device-alloc": a GPU allocation fails
  Launch,      // "launch": a graph replay reports a launch failure
  DeviceLost,  // "device-lost": from then on every GPU call fails
};

#ifdef FD_FAULT_INJECTION
/// True when the armed fault fires at this visit of `site`.
bool faultHit(FaultSite site);
/// Arms `site` to fail at its n-th visit from now (0 disarms every site).
void armFault(FaultSite site, uint64_t n);
#else
inline bool faultHit(FaultSite) { return false; }
#endif

} // namespace fd::runtime

#endif
