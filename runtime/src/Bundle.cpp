//===- Bundle.cpp - the compiled model's files, wherever they live --------===//

#include "Bundle.h"

#include "fusedecode/bundle_format.h"

#include "Status.h"

#include <xxhash.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fd::runtime {

namespace {

std::string parentDir(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// False when the file cannot be opened (absent). A read error or a failed
/// allocation throws: an iostream copy (`ss << in.rdbuf()`) would swallow
/// both and hand back a truncated file (found by fault injection).
bool readWhole(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return false;
  }
  std::streamoff size = in.tellg();
  if (size < 0) {
    throw std::runtime_error(path + ": cannot read");
  }
  out.resize(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(out.data(), size)) {
    throw std::runtime_error(path + ": cannot read");
  }
  return true;
}

fd_error_t openDirectory(const std::string &dir, Bundle &out) {
  // The files compile-model writes beside the executable; code objects for
  // targets that were not compiled are simply absent.
  for (const char *name : {"plan.json", "reference.json", "kernels.sm_90.cubin",
                           "kernels.gfx1151.hsaco", "kernels.gfx1100.hsaco",
                           "tokenizer.json", "chat.json"}) {
    std::string bytes;
    if (readWhole(dir + "/" + name, bytes)) {
      out.files[name] = std::move(bytes);
    }
  }
  if (!out.find("plan.json")) {
    return makeError(dir + "/plan.json: cannot open (not a compile-model "
                           "output directory?)");
  }
  out.defaultWeights = dir + "/weights.fdw";
  return nullptr;
}

bool readTrailer(std::ifstream &in, uint64_t size, FdbTrailer &t) {
  if (size < sizeof(FdbTrailer)) {
    return false;
  }
  in.seekg(static_cast<std::streamoff>(size - sizeof(FdbTrailer)));
  in.read(reinterpret_cast<char *>(&t), sizeof t);
  return in && std::memcmp(t.magic, FDB_MAGIC, 8) == 0;
}

fd_error_t openExecutable(const std::string &path, uint64_t size, Bundle &out) {
  std::ifstream in(path, std::ios::binary);
  FdbTrailer t;
  if (!in || !readTrailer(in, size, t)) {
    return makeError(path + ": not a compiled model (no fusedecode bundle "
                            "at its end)");
  }
  auto bad = [&](const std::string &what) {
    return makeError(path + ": bundle: " + what);
  };
  if (t.version != FDB_VERSION) {
    return bad("version " + std::to_string(t.version) +
               ", this runtime reads " + std::to_string(FDB_VERSION));
  }
  if (t.entry_bytes != sizeof(FdbEntry)) {
    return bad("entry size " + std::to_string(t.entry_bytes));
  }
  const uint64_t tableEnd = size - sizeof(FdbTrailer);
  if (t.count == 0 || t.count > 64 || t.table_offset > tableEnd ||
      (tableEnd - t.table_offset) != t.count * sizeof(FdbEntry)) {
    return bad("entry table out of bounds (truncated or not a bundle)");
  }
  std::vector<FdbEntry> table(t.count);
  in.seekg(static_cast<std::streamoff>(t.table_offset));
  in.read(reinterpret_cast<char *>(table.data()),
          static_cast<std::streamsize>(t.count * sizeof(FdbEntry)));
  if (!in) {
    return bad("cannot read the entry table");
  }
  if (XXH3_64bits(table.data(), t.count * sizeof(FdbEntry)) != t.table_hash) {
    return bad("entry table checksum mismatch");
  }
  for (const FdbEntry &e : table) {
    if (std::memchr(e.name, 0, FDB_NAME_BYTES) == nullptr || e.name[0] == 0) {
      return bad("entry without a NUL-terminated name");
    }
    std::string name = e.name;
    if (e.offset < t.program_bytes || e.offset > t.table_offset ||
        e.bytes > t.table_offset - e.offset) {
      return bad("'" + name + "' out of bounds");
    }
    if (out.files.count(name)) {
      return bad("'" + name + "' twice");
    }
    std::string bytes(e.bytes, '\0');
    in.seekg(static_cast<std::streamoff>(e.offset));
    in.read(bytes.data(), static_cast<std::streamsize>(e.bytes));
    if (!in) {
      return bad("cannot read '" + name + "'");
    }
    if (XXH3_64bits(bytes.data(), bytes.size()) != e.checksum) {
      return bad("'" + name + "' checksum mismatch");
    }
    out.files[name] = std::move(bytes);
  }
  if (!out.find("plan.json")) {
    return bad("no plan.json");
  }
  out.defaultWeights = parentDir(path) + "/weights.fdw";
  return nullptr;
}

} // namespace

bool hasBundle(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  FdbTrailer t;
  return in && readTrailer(in, static_cast<uint64_t>(st.st_size), t);
}

fd_error_t openBundle(const std::string &path, Bundle &out) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return makeError(path + ": " + std::strerror(errno));
  }
  out = Bundle{};
  out.origin = path;
  if (S_ISDIR(st.st_mode)) {
    return openDirectory(path, out);
  }
  return openExecutable(path, static_cast<uint64_t>(st.st_size), out);
}

} // namespace fd::runtime
