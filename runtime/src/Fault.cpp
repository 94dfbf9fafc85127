//===- Fault.cpp - test-only fault injection ------------------------------===//

#include "Fault.h"

#ifdef FD_FAULT_INJECTION

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace fd::runtime {

namespace {

struct Armed {
  std::mutex mutex;
  bool fromEnv = false;
  int site = -1;       // FaultSite, -1: none
  uint64_t left = 0;   // visits before the one that fails
  bool sticky = false; // device-lost: keeps failing
  bool fired = false;
};

Armed &armed() {
  static Armed a;
  return a;
}

constexpr const char *kNames[] = {"short-read",   "checksum", "step",
                                  "device-alloc", "launch",   "device-lost"};

void readEnvOnce(Armed &a) {
  if (a.fromEnv) {
    return;
  }
  a.fromEnv = true;
  const char *spec = std::getenv("FD_FAULT");
  if (!spec || !*spec) {
    return;
  }
  const char *colon = std::strchr(spec, ':');
  std::string name(spec, colon ? static_cast<size_t>(colon - spec)
                               : std::strlen(spec));
  uint64_t n = colon ? std::strtoull(colon + 1, nullptr, 10) : 1;
  for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) {
    if (name == kNames[i] && n > 0) {
      a.site = i;
      a.left = n - 1;
      a.sticky = i == static_cast<int>(FaultSite::DeviceLost);
      return;
    }
  }
  std::fprintf(stderr,
               "FD_FAULT: '%s' is not <site>:<n> with a site of "
               "short-read, checksum, step, device-alloc, launch, "
               "device-lost\n",
               spec);
  std::abort();
}

} // namespace

bool faultHit(FaultSite site) {
  Armed &a = armed();
  std::lock_guard<std::mutex> lock(a.mutex);
  readEnvOnce(a);
  if (a.site != static_cast<int>(site)) {
    return false;
  }
  if (a.fired && a.sticky) {
    return true;
  }
  if (a.fired) {
    return false;
  }
  if (a.left > 0) {
    --a.left;
    return false;
  }
  a.fired = true;
  return true;
}

void armFault(FaultSite site, uint64_t n) {
  Armed &a = armed();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.fromEnv = true; // a test's choice wins over the environment
  a.fired = false;
  if (n == 0) {
    a.site = -1;
    return;
  }
  a.site = static_cast<int>(site);
  a.left = n - 1;
  a.sticky = site == FaultSite::DeviceLost;
}

} // namespace fd::runtime

#endif
