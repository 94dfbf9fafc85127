//===- ModelExecutable.cpp - writing OUT/<model> --------------------------===//

#include "compiler/codegen/ModelExecutable.h"

#include "fusedecode/bundle_format.h"

#include <xxhash.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fd::codegen {

std::string writeModelExecutable(
    const std::string &program, const std::string &out,
    const std::vector<std::pair<std::string, std::string>> &files) {
  std::ifstream in(program, std::ios::binary);
  if (!in) {
    return program + ": cannot open the runtime program (build fd-run, or "
                     "name it with --runtime)";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string image = ss.str();
  if (image.size() >= sizeof(FdbTrailer) &&
      std::memcmp(image.data() + image.size() - 8, FDB_MAGIC, 8) == 0) {
    return program + ": already carries a model (pass the plain fd-run)";
  }
  const uint64_t programBytes = image.size();
  std::vector<FdbEntry> table;
  for (const auto &[name, bytes] : files) {
    if (name.empty() || name.size() >= FDB_NAME_BYTES) {
      return out + ": bundle file name '" + name + "' empty or too long";
    }
    image.resize((image.size() + FDB_ALIGN - 1) / FDB_ALIGN * FDB_ALIGN, '\0');
    FdbEntry e;
    std::memset(&e, 0, sizeof e);
    std::memcpy(e.name, name.data(), name.size());
    e.offset = image.size();
    e.bytes = bytes.size();
    e.checksum = XXH3_64bits(bytes.data(), bytes.size());
    table.push_back(e);
    image += bytes;
  }
  FdbTrailer t;
  std::memset(&t, 0, sizeof t);
  t.table_offset = image.size();
  t.count = table.size();
  t.table_hash = XXH3_64bits(table.data(), table.size() * sizeof(FdbEntry));
  t.program_bytes = programBytes;
  t.version = FDB_VERSION;
  t.entry_bytes = sizeof(FdbEntry);
  std::memcpy(t.magic, FDB_MAGIC, 8);
  image.append(reinterpret_cast<const char *>(table.data()),
               table.size() * sizeof(FdbEntry));
  image.append(reinterpret_cast<const char *>(&t), sizeof t);

  const std::string partial = out + ".partial";
  {
    std::ofstream os(partial, std::ios::binary | std::ios::trunc);
    os.write(image.data(), static_cast<std::streamsize>(image.size()));
    if (!os.flush()) {
      std::remove(partial.c_str());
      return partial + ": cannot write";
    }
  }
  if (::chmod(partial.c_str(), 0755) != 0 ||
      std::rename(partial.c_str(), out.c_str()) != 0) {
    std::remove(partial.c_str());
    return out + ": cannot write (" + std::strerror(errno) + ")";
  }
  return "";
}

} // namespace fd::codegen
