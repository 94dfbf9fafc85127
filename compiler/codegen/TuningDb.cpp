//===- TuningDb.cpp - measured GEMV times from --autotune -----------------===//

#include "compiler/codegen/TuningDb.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

namespace fd::codegen {

namespace json = llvm::json;

const TunedConfig *TuningEntry::find(int rows, int lanes, int waves) const {
  for (const TunedConfig &c : measured) {
    if (c.rows == rows && c.lanes == lanes && c.waves == waves) {
      return &c;
    }
  }
  return nullptr;
}

std::string tuningDbFile(const std::string &dir, const std::string &target) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, target + ".json");
  return std::string(p);
}

llvm::Expected<std::optional<TuningDb>>
loadTuningDb(const std::string &dir, const std::string &target) {
  const std::string path = tuningDbFile(dir, target);
  if (!llvm::sys::fs::exists(path)) {
    return std::nullopt;
  }
  auto fail = [&](const llvm::Twine &what) -> llvm::Error {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": " + what);
  };
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    return fail(buf.getError().message());
  }
  llvm::Expected<json::Value> root = json::parse((*buf)->getBuffer());
  if (!root) {
    return fail("not JSON: " + llvm::toString(root.takeError()));
  }
  const json::Object *o = root->getAsObject();
  if (!o || o->getString("format") != "fusedecode-tuning") {
    return fail("not a tuning database (\"format\" is not "
                "\"fusedecode-tuning\")");
  }
  if (o->getInteger("version") != 1) {
    return fail("field \"version\": expected 1");
  }
  TuningDb db;
  db.path = path;
  auto str = [&](const json::Object &from, llvm::StringRef key,
                 const llvm::Twine &where, std::string &out) -> llvm::Error {
    std::optional<llvm::StringRef> v = from.getString(key);
    if (!v) {
      return fail(where + "field \"" + key + "\" missing or not a string");
    }
    out = v->str();
    return llvm::Error::success();
  };
  for (llvm::StringRef key :
       {"target", "device", "templates_hash", "compiler"}) {
    std::string v;
    if (llvm::Error e = str(*o, key, "", v)) {
      return std::move(e);
    }
    (key == "target"           ? db.target
     : key == "device"         ? db.device
     : key == "templates_hash" ? db.templatesHash
                               : db.compiler) = v;
  }
  if (db.target != target) {
    return fail("holds measurements for " + db.target + ", not " + target);
  }
  const json::Array *entries = o->getArray("entries");
  if (!entries) {
    return fail("field \"entries\" missing or not an array");
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    const std::string where = llvm::formatv("entries[{0}]: ", i).str();
    const json::Object *e = (*entries)[i].getAsObject();
    if (!e) {
      return fail(where + "not an object");
    }
    std::string key;
    TuningEntry entry;
    if (llvm::Error err = str(*e, "key", where, key)) {
      return std::move(err);
    }
    if (llvm::Error err = str(*e, "template", where, entry.templateName)) {
      return std::move(err);
    }
    if (llvm::Error err = str(*e, "shape", where, entry.shape)) {
      return std::move(err);
    }
    const json::Array *measured = e->getArray("measured");
    if (!measured) {
      return fail(where + "field \"measured\" missing or not an array");
    }
    for (size_t j = 0; j < measured->size(); ++j) {
      const std::string at =
          llvm::formatv("entries[{0}].measured[{1}]: ", i, j).str();
      const json::Object *m = (*measured)[j].getAsObject();
      if (!m) {
        return fail(at + "not an object");
      }
      TunedConfig c;
      for (auto [name, slot] :
           {std::pair<llvm::StringRef, int *>{"ROWS", &c.rows},
            {"LANES", &c.lanes},
            {"WAVES", &c.waves}}) {
        std::optional<int64_t> v = m->getInteger(name);
        if (!v || *v <= 0) {
          return fail(at + "field \"" + name + "\" missing or not positive");
        }
        *slot = static_cast<int>(*v);
      }
      std::optional<double> us = m->getNumber("us");
      if (!us || !(*us > 0) || *us > 1e9) {
        return fail(at + "field \"us\" missing or not a positive time");
      }
      c.micros = *us;
      c.sePct = m->getNumber("se_pct").value_or(0);
      c.replays = m->getInteger("replays").value_or(0);
      c.launches = m->getInteger("launches").value_or(0);
      entry.measured.push_back(c);
    }
    db.entries[key] = std::move(entry);
  }
  return db;
}

} // namespace fd::codegen
