//===- WeightFile.cpp - writing OUT/weights.fdw ---------------------------===//

#include "compiler/codegen/WeightFile.h"

#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace fd::codegen {

namespace {
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/// Closes and removes the partial file unless released.
struct PartialFile {
  std::FILE *f = nullptr;
  std::string path;
  bool keep = false;
  ~PartialFile() {
    if (f) {
      std::fclose(f);
    }
    if (!keep) {
      std::remove(path.c_str());
    }
  }
};
} // namespace

std::string writeWeightFile(const std::string &path, uint64_t planHash,
                            const std::vector<PackedTensor> &tensors,
                            const TensorProducer &produce) {
  std::vector<FdwEntry> entries(tensors.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const PackedTensor &t = tensors[i];
    FdwEntry &e = entries[i];
    std::memset(&e, 0, sizeof e);
    if (t.name.size() >= FDW_NAME_BYTES) {
      return path + ": tensor '" + t.name + "': name longer than " +
             std::to_string(FDW_NAME_BYTES - 1) + " bytes";
    }
    if (t.shape.size() > FDW_MAX_RANK) {
      return path + ": tensor '" + t.name + "': rank above " +
             std::to_string(FDW_MAX_RANK);
    }
    std::memcpy(e.name, t.name.c_str(), t.name.size());
    e.offset = offset;
    e.bytes = t.bytes;
    e.dtype = t.dtype;
    e.rank = static_cast<uint32_t>(t.shape.size());
    for (size_t d = 0; d < t.shape.size(); ++d) {
      e.shape[d] = t.shape[d];
    }
    offset = alignUp(offset + t.bytes, FDW_TENSOR_ALIGN);
  }
  FdwHeader h;
  std::memset(&h, 0, sizeof h);
  std::memcpy(h.magic, FDW_MAGIC, 8);
  h.version = FDW_VERSION;
  h.entry_bytes = sizeof(FdwEntry);
  h.count = tensors.size();
  h.data_offset = alignUp(sizeof(FdwHeader) + tensors.size() * sizeof(FdwEntry),
                          FDW_DATA_ALIGN);
  h.data_bytes = offset;
  h.plan_hash = planHash;

  PartialFile out;
  out.path = path + ".partial";
  out.f = std::fopen(out.path.c_str(), "wb");
  if (!out.f) {
    return out.path + ": cannot create: " + std::strerror(errno);
  }
  auto fail = [&](const std::string &what) {
    return out.path + ": " + what + ": " + std::strerror(errno);
  };
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < tensors.size(); ++i) {
    buf.assign(tensors[i].bytes, 0);
    std::string err = produce(i, buf);
    if (!err.empty()) {
      return err;
    }
    if (buf.size() != tensors[i].bytes) {
      return path + ": tensor '" + tensors[i].name + "': produced " +
             std::to_string(buf.size()) + " bytes, declared " +
             std::to_string(tensors[i].bytes);
    }
    entries[i].checksum = XXH3_64bits(buf.data(), buf.size());
    if (std::fseek(out.f, static_cast<long>(h.data_offset + entries[i].offset),
                   SEEK_SET) != 0 ||
        std::fwrite(buf.data(), 1, buf.size(), out.f) != buf.size()) {
      return fail("write");
    }
  }
  // Extend (with zeros) to the declared end: the last tensor's alignment
  // padding, and the data region's start when there are no tensors.
  if (std::fflush(out.f) != 0 ||
      ::ftruncate(fileno(out.f),
                  static_cast<off_t>(h.data_offset + h.data_bytes)) != 0) {
    return fail("extend");
  }
  h.table_hash = XXH3_64bits(entries.data(), entries.size() * sizeof(FdwEntry));
  if (std::fseek(out.f, 0, SEEK_SET) != 0 ||
      std::fwrite(&h, sizeof h, 1, out.f) != 1 ||
      (!entries.empty() &&
       std::fwrite(entries.data(), sizeof(FdwEntry), entries.size(), out.f) !=
           entries.size())) {
    return fail("write");
  }
  int closed = std::fclose(out.f);
  out.f = nullptr;
  if (closed != 0) {
    return fail("close");
  }
  std::error_code ec;
  std::filesystem::rename(out.path, path, ec);
  if (ec) {
    return path + ": cannot rename the finished file: " + ec.message();
  }
  out.keep = true;
  return {};
}

} // namespace fd::codegen
