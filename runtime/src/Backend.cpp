//===- Backend.cpp - what a backend without measurements says -------------===//

#include "Backend.h"

#include "Status.h"

namespace fd::runtime {

namespace {
fd_error_t unsupported(const Backend &b, const char *what) {
  return makeError(std::string(what) +
                   " needs the GPU backend (this engine runs on " +
                   b.description() + ")");
}
} // namespace

fd_error_t Backend::readBandwidth(uint64_t, int, double &) {
  return unsupported(*this, "measuring bandwidth");
}
fd_error_t Backend::setProfiling(bool) {
  return unsupported(*this, "profiling launches");
}
fd_error_t Backend::launchTimes(std::vector<float> &) {
  return unsupported(*this, "profiling launches");
}
fd_error_t Backend::deviceMemory(uint64_t &, uint64_t &) {
  return unsupported(*this, "device memory use");
}

} // namespace fd::runtime
