//===- Weights.cpp - reading a packed weights file ------------------------===//

#include "fusedecode/weights.h"

#include "Fault.h"
#include "Status.h"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using fd::runtime::faultHit;
using fd::runtime::FaultSite;
using fd::runtime::guarded;
using fd::runtime::makeError;

struct fd_weights {
  std::string path;
  int fd = -1;
  FdwHeader header{};
  std::vector<FdwEntry> entries;
};

namespace {

bool readAt(int fd, void *dst, uint64_t bytes, uint64_t offset) {
  char *p = static_cast<char *>(dst);
  while (bytes > 0) {
    ssize_t r = ::pread(fd, p, bytes, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    p += r;
    bytes -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

fd_error_t validate(fd_weights &w, uint64_t fileSize,
                    uint64_t expectedPlanHash) {
  const std::string &p = w.path;
  const FdwHeader &h = w.header;
  if (std::memcmp(h.magic, FDW_MAGIC, 8) != 0) {
    return makeError(p + ": header: not a fusedecode weights file (bad magic)");
  }
  if (h.version != FDW_VERSION) {
    return makeError(p + ": header: version " + std::to_string(h.version) +
                     ", this runtime reads version " +
                     std::to_string(FDW_VERSION));
  }
  if (h.entry_bytes != sizeof(FdwEntry)) {
    return makeError(p + ": header: entry size " +
                     std::to_string(h.entry_bytes) + ", expected " +
                     std::to_string(sizeof(FdwEntry)));
  }
  // Bound the count by what the file can hold before multiplying.
  if (h.count > fileSize / sizeof(FdwEntry) ||
      sizeof(FdwHeader) + h.count * sizeof(FdwEntry) > h.data_offset ||
      h.data_offset % FDW_DATA_ALIGN != 0 || h.data_offset > fileSize ||
      h.data_bytes > fileSize - h.data_offset) {
    return makeError(p + ": header: table or data region out of the " +
                     std::to_string(fileSize) + "-byte file (truncated?)");
  }
  if (expectedPlanHash != 0 && h.plan_hash != expectedPlanHash) {
    return makeError(
        p + ": header: packed for another plan (plan hash mismatch); recompile "
            "or pass the weights file written with this executable");
  }
  w.entries.resize(h.count);
  if (h.count && !readAt(w.fd, w.entries.data(), h.count * sizeof(FdwEntry),
                         sizeof(FdwHeader))) {
    return makeError(p + ": table: short read");
  }
  if (XXH3_64bits(w.entries.data(), h.count * sizeof(FdwEntry)) !=
      h.table_hash) {
    return makeError(p + ": table: checksum mismatch (corrupt file)");
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (uint64_t i = 0; i < h.count; ++i) {
    const FdwEntry &e = w.entries[i];
    if (std::memchr(e.name, '\0', FDW_NAME_BYTES) == nullptr) {
      return makeError(p + ": entry " + std::to_string(i) +
                       ": name not terminated");
    }
    std::string what = p + ": tensor '" + e.name + "': ";
    if (e.offset % FDW_TENSOR_ALIGN != 0 || e.offset > h.data_bytes ||
        e.bytes > h.data_bytes - e.offset) {
      return makeError(what + "bytes out of the data region or misaligned");
    }
    if (e.rank > FDW_MAX_RANK) {
      return makeError(what + "rank " + std::to_string(e.rank) + " above " +
                       std::to_string(FDW_MAX_RANK));
    }
    ranges.emplace_back(e.offset, e.offset + e.bytes);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      return makeError(p + ": table: two tensors overlap");
    }
  }
  return nullptr;
}

} // namespace

extern "C" fd_error_t
fd_weights_open(const char *path, uint64_t expectedPlanHash, fd_weights **out) {
  *out = nullptr;
  return guarded("fd_weights_open", [&]() -> fd_error_t {
    // Closed on every early return, an exception included.
    std::unique_ptr<fd_weights, void (*)(fd_weights *)> w(new fd_weights,
                                                          fd_weights_close);
    w->path = path;
    w->fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (w->fd < 0) {
      return makeError(w->path + ": cannot open: " + std::strerror(errno));
    }
    struct stat st;
    if (::fstat(w->fd, &st) != 0) {
      return makeError(w->path + ": cannot stat: " + std::strerror(errno));
    }
    if (static_cast<uint64_t>(st.st_size) < sizeof(FdwHeader) ||
        !readAt(w->fd, &w->header, sizeof(FdwHeader), 0)) {
      return makeError(w->path + ": header: file too short (" +
                       std::to_string(st.st_size) + " bytes)");
    }
    if (fd_error_t err =
            validate(*w, static_cast<uint64_t>(st.st_size), expectedPlanHash)) {
      return err;
    }
    *out = w.release();
    return nullptr;
  });
}

extern "C" void fd_weights_close(fd_weights *w) {
  if (!w) {
    return;
  }
  if (w->fd >= 0) {
    ::close(w->fd);
  }
  delete w;
}

extern "C" uint64_t fd_weights_count(const fd_weights *w) {
  return w->header.count;
}

extern "C" const FdwEntry *fd_weights_entry(const fd_weights *w,
                                            uint64_t index) {
  return index < w->entries.size() ? &w->entries[index] : nullptr;
}

extern "C" int64_t fd_weights_find(const fd_weights *w, const char *name) {
  for (size_t i = 0; i < w->entries.size(); ++i) {
    if (std::strncmp(w->entries[i].name, name, FDW_NAME_BYTES) == 0) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

extern "C" fd_error_t fd_weights_read(const fd_weights *w, uint64_t index,
                                      void *dst) {
  return guarded("fd_weights_read", [&]() -> fd_error_t {
    if (index >= w->entries.size()) {
      return makeError(w->path + ": no tensor " + std::to_string(index));
    }
    const FdwEntry &e = w->entries[index];
    if (faultHit(FaultSite::ShortRead) ||
        !readAt(w->fd, dst, e.bytes, w->header.data_offset + e.offset)) {
      return makeError(w->path + ": tensor '" + e.name +
                       "': short read (truncated file?)");
    }
    if (faultHit(FaultSite::Checksum) ||
        XXH3_64bits(dst, e.bytes) != e.checksum) {
      return makeError(w->path + ": tensor '" + e.name +
                       "': checksum mismatch (corrupt file)");
    }
    return nullptr;
  });
}
