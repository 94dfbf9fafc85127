//===- ResourceCache.cpp - compiled resources of kernel instances ---------===//

#include "compiler/codegen/ResourceCache.h"

#include "compiler/codegen/KernelSource.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>

namespace fd::codegen {

namespace {
namespace json = llvm::json;

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string cacheFile(const std::string &dir, GpuTarget target) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, std::string("resources-") + targetName(target) +
                                 ".json");
  return std::string(p);
}

json::Object toJson(const KernelResources &k) {
  return json::Object{{"symbol", k.name},
                      {"vgprs", k.vgprs},
                      {"sgprs", k.sgprs},
                      {"occupancy_waves", k.occupancyWavesPerSimd},
                      {"scratch", k.scratchBytesPerLane},
                      {"lds", k.ldsBytes},
                      {"registers", k.registers},
                      {"stack", k.stackBytes},
                      {"shared", k.sharedBytes},
                      {"spill_stores", k.spillStores},
                      {"spill_loads", k.spillLoads}};
}

bool fromJson(const json::Object &o, KernelResources &k) {
  auto num = [&](llvm::StringRef key, int &out) {
    std::optional<int64_t> v = o.getInteger(key);
    if (v) {
      out = static_cast<int>(*v);
    }
    return v.has_value();
  };
  std::optional<llvm::StringRef> sym = o.getString("symbol");
  if (!sym) {
    return false;
  }
  k.name = sym->str();
  return num("vgprs", k.vgprs) && num("sgprs", k.sgprs) &&
         num("occupancy_waves", k.occupancyWavesPerSimd) &&
         num("scratch", k.scratchBytesPerLane) && num("lds", k.ldsBytes) &&
         num("registers", k.registers) && num("stack", k.stackBytes) &&
         num("shared", k.sharedBytes) && num("spill_stores", k.spillStores) &&
         num("spill_loads", k.spillLoads);
}
} // namespace

std::string hashTemplates(const std::vector<std::string> &dirs) {
  std::vector<std::pair<std::string, std::string>> files; // relative, full
  for (const std::string &dir : dirs) {
    std::error_code ec;
    for (llvm::sys::fs::recursive_directory_iterator it(dir, ec), end;
         it != end && !ec; it.increment(ec)) {
      llvm::StringRef path(it->path());
      if (path.ends_with(".h")) {
        // Relative to the template directory: the same sources hash the
        // same wherever the checkout lives.
        llvm::StringRef rel = path;
        rel.consume_front(dir);
        files.emplace_back(rel.ltrim('/').str(), path.str());
      }
    }
  }
  std::sort(files.begin(), files.end());
  std::string all;
  for (const auto &[rel, full] : files) {
    all += rel + '\0';
    if (auto buf = llvm::MemoryBuffer::getFile(full)) {
      all += (*buf)->getBuffer().str();
    }
    all += '\0';
  }
  return llvm::formatv("{0:x16}", llvm::xxh3_64bits(all)).str();
}

ResourceCache::ResourceCache(std::string cacheDir, DeviceCompileOptions options)
    : dir_(std::move(cacheDir)), options_(std::move(options)),
      templatesHash_(hashTemplates(options_.includeDirs)) {}

std::string ResourceCache::defaultDirectory() {
  if (std::optional<std::string> d =
          llvm::sys::Process::GetEnv("FD_KERNEL_CACHE")) {
    return *d;
  }
  llvm::SmallString<256> p;
  if (std::optional<std::string> x =
          llvm::sys::Process::GetEnv("XDG_CACHE_HOME")) {
    p = *x;
  } else if (!llvm::sys::path::home_directory(p)) {
    return "";
  } else {
    llvm::sys::path::append(p, ".cache");
  }
  llvm::sys::path::append(p, "fusedecode", "kernels");
  return std::string(p);
}

llvm::Error ResourceCache::load(GpuTarget target) {
  if (versions_.count(target)) {
    return llvm::Error::success();
  }
  llvm::Expected<std::string> version = compilerVersion(target, options_);
  if (!version) {
    return version.takeError();
  }
  versions_[target] = *version;
  auto &entries = entries_[target];
  if (dir_.empty()) {
    return llvm::Error::success();
  }
  auto buf = llvm::MemoryBuffer::getFile(cacheFile(dir_, target));
  if (!buf) {
    return llvm::Error::success(); // nothing cached yet
  }
  // A damaged cache is rebuilt, not an error: it only holds what a compile
  // can recompute.
  llvm::Expected<json::Value> root = json::parse((*buf)->getBuffer());
  if (!root) {
    llvm::consumeError(root.takeError());
    return llvm::Error::success();
  }
  const json::Object *o = root->getAsObject();
  const json::Object *e = o ? o->getObject("entries") : nullptr;
  if (!e) {
    return llvm::Error::success();
  }
  for (const auto &[key, value] : *e) {
    KernelResources k;
    if (const json::Object *v = value.getAsObject(); v && fromJson(*v, k)) {
      entries[key.str()] = k;
    }
  }
  return llvm::Error::success();
}

llvm::Error ResourceCache::save(GpuTarget target) {
  if (dir_.empty()) {
    return llvm::Error::success();
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(dir_)) {
    return error(dir_ + ": " + ec.message());
  }
  // Another compile may have added entries since this one loaded: keep
  // theirs too.
  std::map<std::string, KernelResources> merged;
  if (auto buf = llvm::MemoryBuffer::getFile(cacheFile(dir_, target))) {
    if (llvm::Expected<json::Value> root = json::parse((*buf)->getBuffer())) {
      const json::Object *o = root->getAsObject();
      if (const json::Object *e = o ? o->getObject("entries") : nullptr) {
        for (const auto &[key, value] : *e) {
          KernelResources k;
          if (const json::Object *v = value.getAsObject();
              v && fromJson(*v, k)) {
            merged[key.str()] = k;
          }
        }
      }
    } else {
      llvm::consumeError(root.takeError());
    }
  }
  for (const auto &[key, k] : entries_[target]) {
    merged[key] = k;
  }
  json::Object entries;
  for (const auto &[key, k] : merged) {
    entries[key] = toJson(k);
  }
  json::Object root{{"format", "fusedecode-kernel-resources"},
                    {"version", 1},
                    {"target", targetName(target)},
                    {"entries", std::move(entries)}};
  // Written beside and renamed over: a concurrent compile never reads half
  // a file.
  std::string path = cacheFile(dir_, target);
  llvm::SmallString<256> tmp;
  int fd = -1;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(path + ".%%%%%%.tmp", fd, tmp)) {
    return error(path + ": " + ec.message());
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << llvm::formatv("{0:1}", json::Value(std::move(root))) << "\n";
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return error(path + ": cannot write");
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return error(path + ": " + ec.message());
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<KernelResources>>
ResourceCache::resources(mlir::ModuleOp module, GpuTarget target) {
  if (llvm::Error e = load(target)) {
    return std::move(e);
  }
  llvm::Expected<KernelSource> source = generateKernelSource(module);
  if (!source) {
    return source.takeError();
  }
  auto &entries = entries_[target];
  auto keyOf = [&](const KernelInstance &inst) {
    std::string id = inst.spelled + '\0' + targetName(target) + '\0' +
                     versions_[target] + '\0' + templatesHash_;
    return llvm::formatv("{0:x16}", llvm::xxh3_64bits(id)).str();
  };
  bool missing = false;
  for (const KernelInstance &inst : source->instances) {
    missing |= !entries.count(keyOf(inst));
  }
  if (missing) {
    // One device compile for the whole set: the compiler's start-up and the
    // headers' parse dominate a small instance's cost.
    llvm::Expected<DeviceBinary> bin =
        compileForTarget(source->text, target, options_);
    if (!bin) {
      return bin.takeError();
    }
    if (llvm::Error e = bindSymbols(*source, bin->kernels)) {
      return std::move(e);
    }
    for (const KernelInstance &inst : source->instances) {
      std::string key = keyOf(inst);
      if (entries.count(key)) {
        continue;
      }
      for (const KernelResources &k : bin->kernels) {
        if (k.name == inst.symbol) {
          entries[key] = k;
          ++compiled_;
        }
      }
    }
    if (llvm::Error e = save(target)) {
      return std::move(e);
    }
  }
  std::vector<KernelResources> out;
  for (size_t i : source->launchInstance) {
    const KernelInstance &inst = source->instances[i];
    auto it = entries.find(keyOf(inst));
    if (it == entries.end()) {
      return error("the device compile reported no resources for " +
                   inst.spelled);
    }
    out.push_back(it->second);
  }
  if (!missing) {
    hits_ += static_cast<int>(source->instances.size());
  }
  return out;
}

} // namespace fd::codegen
