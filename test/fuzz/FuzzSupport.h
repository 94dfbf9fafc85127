//===- FuzzSupport.h - what the fuzz targets share --------------*- C++ -*-===//
//
// The parsers under fuzzing read files by path; the targets hand them the
// input as an in-memory file (memfd), so the real open / read paths run.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_TEST_FUZZ_FUZZSUPPORT_H
#define FUSEDECODE_TEST_FUZZ_FUZZSUPPORT_H

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fd::fuzz {

/// An in-memory file holding `data`; path() names it.
class MemFile {
public:
  MemFile(const uint8_t *data, size_t size) {
    fd_ = ::memfd_create("fd-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) {
        std::perror("write");
        std::abort();
      }
      done += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile &) = delete;
  MemFile &operator=(const MemFile &) = delete;
  std::string dir() const { return "/proc/self/fd"; }
  std::string name() const { return std::to_string(fd_); }
  std::string path() const { return dir() + "/" + name(); }

private:
  int fd_ = -1;
};

/// A property the code under test must keep; a violation is a crash the
/// fuzzer reports (and the corpus runner fails on).
inline void require(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

} // namespace fd::fuzz

#endif
