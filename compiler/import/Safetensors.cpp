//===- Safetensors.cpp - safetensors header reader ------------------------===//

#include "compiler/import/Safetensors.h"

#include "compiler/import/Errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

using json = nlohmann::json;

namespace fd::import {

namespace {
// The safetensors format caps the header at 100 MB; a larger length field is
// corruption, and honouring it would allocate absurd buffers.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

/// RAII file descriptor.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

bool readFully(int fd, char *buf, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    buf += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

/// Parses one header entry; the name is already known.
llvm::Error parseEntry(const std::string &path, const std::string &name,
                       const json &entry, uint64_t dataSize, TensorInfo &out) {
  auto err = [&](const std::string &msg) {
    return makeError(path, "tensor '" + name + "'", msg);
  };
  if (!entry.is_object()) {
    return err("header entry is not an object");
  }
  auto dt = entry.find("dtype");
  if (dt == entry.end() || !dt->is_string()) {
    return err("missing or non-string 'dtype'");
  }
  std::optional<DType> dtype = parseDType(dt->get<std::string>());
  if (!dtype) {
    return err("unknown dtype '" + dt->get<std::string>() + "'");
  }
  auto sh = entry.find("shape");
  if (sh == entry.end() || !sh->is_array()) {
    return err("missing or non-array 'shape'");
  }
  std::vector<int64_t> shape;
  uint64_t numel = 1;
  bool overflow = false;
  for (const json &d : *sh) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return err("shape " + sh->dump() +
                 " holds a non-integer or negative dimension");
    }
    int64_t v = d.get<int64_t>();
    shape.push_back(v);
    overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(v), &numel);
  }
  uint64_t bytes = 0;
  overflow |= __builtin_mul_overflow(numel, dtypeSize(*dtype), &bytes);
  if (overflow) {
    return err("shape " + formatShape(shape) + " overflows 64 bits");
  }
  auto off = entry.find("data_offsets");
  if (off == entry.end() || !off->is_array() || off->size() != 2 ||
      !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned()) {
    return err("'data_offsets' must be two non-negative integers");
  }
  uint64_t b = (*off)[0].get<uint64_t>(), e = (*off)[1].get<uint64_t>();
  if (b > e) {
    return err("data offsets [" + std::to_string(b) + ", " + std::to_string(e) +
               ") are reversed");
  }
  if (e > dataSize) {
    return err("data offsets [" + std::to_string(b) + ", " + std::to_string(e) +
               ") run past the end of the " + std::to_string(dataSize) +
               "-byte data region (truncated file?)");
  }
  if (e - b != bytes) {
    return err("data offsets span " + std::to_string(e - b) +
               " bytes but shape " + formatShape(shape) + " of " +
               dtypeName(*dtype) + " needs " + std::to_string(bytes));
  }
  out.name = name;
  out.dtype = *dtype;
  out.shape = std::move(shape);
  out.begin = b;
  out.end = e;
  return llvm::Error::success();
}

} // namespace

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    n *= d;
  }
  return n;
}

namespace {
llvm::Expected<Shard> readHeaderImpl(const std::string &dir,
                                     const std::string &file) {
  Shard shard;
  shard.file = file;
  shard.path = (std::filesystem::path(dir) / file).string();
  const std::string &path = shard.path;
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) {
    return makeError(path, "",
                     std::string("cannot open: ") + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return makeError(path, "", "not a regular file");
  }
  shard.fileSize = static_cast<uint64_t>(st.st_size);
  if (shard.fileSize < 8) {
    return makeError(path, "header",
                     "file of " + std::to_string(shard.fileSize) +
                         " bytes is too short for the 8-byte "
                         "header length");
  }
  unsigned char lenBytes[8];
  if (!readFully(f.fd, reinterpret_cast<char *>(lenBytes), 8, 0)) {
    return makeError(path, "header", "cannot read the header length");
  }
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) {
    headerLen = (headerLen << 8) | lenBytes[i];
  }
  if (headerLen > shard.fileSize - 8) {
    return makeError(path, "header",
                     "header length " + std::to_string(headerLen) +
                         " runs past the end of the " +
                         std::to_string(shard.fileSize) + "-byte file");
  }
  if (headerLen > kMaxHeaderBytes) {
    return makeError(path, "header",
                     "header length " + std::to_string(headerLen) +
                         " exceeds the format's 100 MB limit");
  }
  std::string text(headerLen, '\0');
  if (!readFully(f.fd, text.data(), headerLen, 8)) {
    return makeError(path, "header", "cannot read the header");
  }
  shard.dataStart = 8 + headerLen;
  uint64_t dataSize = shard.fileSize - shard.dataStart;

  json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    return makeError(path, "header", "malformed header JSON");
  }
  if (!header.is_object()) {
    return makeError(path, "header", "header JSON is not an object");
  }

  shard.tensors.reserve(header.size());
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) {
        return makeError(path, "__metadata__", "is not an object");
      }
      continue;
    }
    TensorInfo info;
    if (llvm::Error e =
            parseEntry(path, it.key(), it.value(), dataSize, info)) {
      return std::move(e);
    }
    info.begin += shard.dataStart;
    info.end += shard.dataStart;
    shard.tensors.push_back(std::move(info));
  }

  // Overlapping tensors would alias each other's bytes: a corrupt or hostile
  // header. Sort a copy of the ranges by start and compare neighbours.
  std::vector<const TensorInfo *> byStart;
  byStart.reserve(shard.tensors.size());
  for (const TensorInfo &t : shard.tensors) {
    if (t.end > t.begin) {
      byStart.push_back(&t);
    }
  }
  std::sort(byStart.begin(), byStart.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              return a->begin < b->begin;
            });
  for (size_t i = 1; i < byStart.size(); ++i) {
    if (byStart[i]->begin < byStart[i - 1]->end) {
      return makeError(path, "tensor '" + byStart[i]->name + "'",
                       "data overlaps tensor '" + byStart[i - 1]->name + "'");
    }
  }
  return shard;
}
} // namespace

llvm::Expected<Shard> readSafetensorsHeader(const std::string &dir,
                                            const std::string &file) {
  try {
    return readHeaderImpl(dir, file);
  } catch (const std::exception &e) {
    // Allocation failure or a library error: still one line, never a crash.
    return makeError(dir + "/" + file, "header", e.what());
  }
}

llvm::Error Checkpoint::addShard(Shard shard) {
  unsigned s = static_cast<unsigned>(shards_.size());
  for (unsigned t = 0; t < shard.tensors.size(); ++t) {
    auto [it, inserted] = index_.try_emplace(shard.tensors[t].name, s, t);
    if (!inserted) {
      return makeError(shard.path, "tensor '" + shard.tensors[t].name + "'",
                       "also stored in " + shards_[it->second.first].file);
    }
  }
  shards_.push_back(std::move(shard));
  return llvm::Error::success();
}

llvm::Expected<Checkpoint> Checkpoint::open(const std::string &dir) {
  try {
    return openImpl(dir);
  } catch (const std::exception &e) {
    return makeError(dir, "",
                     std::string("cannot read the checkpoint: ") + e.what());
  }
}

llvm::Expected<Checkpoint> Checkpoint::openImpl(const std::string &dir) {
  namespace fs = std::filesystem;
  Checkpoint ckpt;
  ckpt.dir_ = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return makeError(dir, "", "not a checkpoint directory");
  }

  fs::path indexPath = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(indexPath, ec)) {
    std::string ipath = indexPath.string();
    std::ifstream in(ipath, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    json index = json::parse(text, nullptr, false);
    if (index.is_discarded() || !index.is_object()) {
      return makeError(ipath, "", "malformed JSON");
    }
    auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) {
      return makeError(ipath, "weight_map", "missing or not an object");
    }
    // Shard order: sorted by file name, which is the numbered order HF uses.
    std::set<std::string> files;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string()) {
        return makeError(ipath, "weight_map." + it.key(), "is not a file name");
      }
      std::string f = it.value().get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f == "." ||
          f == "..") {
        return makeError(
            ipath, "weight_map." + it.key(),
            "'" + f + "' is not a file name in the checkpoint directory");
      }
      files.insert(f);
    }
    if (files.empty()) {
      return makeError(ipath, "weight_map", "names no tensors");
    }
    for (const std::string &f : files) {
      if (!fs::exists(fs::path(dir) / f, ec)) {
        return makeError(ipath, "weight_map",
                         "shard '" + f + "' named in the index does not exist");
      }
      llvm::Expected<Shard> shard = readSafetensorsHeader(dir, f);
      if (!shard) {
        return shard.takeError();
      }
      if (llvm::Error e = ckpt.addShard(std::move(*shard))) {
        return std::move(e);
      }
    }
    // The index and the headers must tell the same story.
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      std::optional<Ref> ref = ckpt.find(it.key());
      std::string f = it.value().get<std::string>();
      if (!ref || ckpt.shards_[ref->shard].file != f) {
        return makeError((fs::path(dir) / f).string(),
                         "tensor '" + it.key() + "'",
                         "named in the index but not stored in this shard");
      }
    }
    if (ckpt.index_.size() != wm->size()) {
      for (const Shard &s : ckpt.shards_) {
        for (const TensorInfo &t : s.tensors) {
          if (!wm->contains(t.name)) {
            return makeError(s.path, "tensor '" + t.name + "'",
                             "stored in the shard but missing from the index");
          }
        }
      }
    }
    return ckpt;
  }

  std::vector<std::string> files;
  for (const fs::directory_entry &e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".safetensors") {
      files.push_back(e.path().filename().string());
    }
  }
  if (files.empty()) {
    return makeError(dir, "",
                     "no *.safetensors file and no "
                     "model.safetensors.index.json");
  }
  if (files.size() > 1) {
    return makeError(dir, "",
                     std::to_string(files.size()) +
                         " *.safetensors files but no "
                         "model.safetensors.index.json");
  }
  llvm::Expected<Shard> shard = readSafetensorsHeader(dir, files.front());
  if (!shard) {
    return shard.takeError();
  }
  if (llvm::Error e = ckpt.addShard(std::move(*shard))) {
    return std::move(e);
  }
  return ckpt;
}

std::optional<Checkpoint::Ref> Checkpoint::find(llvm::StringRef name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return std::nullopt;
  }
  return Ref{it->second.first,
             &shards_[it->second.first].tensors[it->second.second]};
}

llvm::Expected<std::vector<char>> Checkpoint::read(llvm::StringRef name) const {
  std::optional<Ref> ref = find(name);
  if (!ref) {
    return makeError(dir_, "tensor '" + name.str() + "'",
                     "missing from the checkpoint");
  }
  const Shard &shard = shards_[ref->shard];
  std::vector<char> bytes(ref->info->end - ref->info->begin);
  Fd f;
  f.fd = ::open(shard.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0 ||
      !readFully(f.fd, bytes.data(), bytes.size(), ref->info->begin)) {
    return makeError(shard.path, "tensor '" + name.str() + "'",
                     "cannot read its data (truncated file?)");
  }
  return bytes;
}

std::vector<llvm::StringRef> Checkpoint::tensorNames() const {
  std::vector<llvm::StringRef> names;
  names.reserve(index_.size());
  for (const auto &entry : index_) {
    names.push_back(entry.getKey());
  }
  return names;
}

} // namespace fd::import
