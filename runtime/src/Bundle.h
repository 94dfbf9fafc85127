//===- Bundle.h - the compiled model's files, wherever they live -*- C++
//-*-===//
//
// A compiled model is either the directory compile-model wrote (OUT/) or the
// executable OUT/<model> carrying the same files appended
// (fusedecode/bundle_format.h). Both read into one name -> bytes map.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_BUNDLE_H
#define FUSEDECODE_RUNTIME_BUNDLE_H

#include "fusedecode/status.h"

#include <map>
#include <string>

namespace fd::runtime {

struct Bundle {
  std::string origin;         // the directory or executable, for messages
  std::string defaultWeights; // weights.fdw beside it
  std::map<std::string, std::string> files;

  /// The file's bytes, or null.
  const std::string *find(const std::string &name) const {
    auto it = files.find(name);
    return it == files.end() ? nullptr : &it->second;
  }
};

/// Reads `path`: a directory holding plan.json (and the other outputs), or a
/// file ending with an FdbTrailer. Every size, offset, name and checksum is
/// checked; a file without a trailer is "not a compiled model".
fd_error_t openBundle(const std::string &path, Bundle &out);

/// True when `path` (a file) ends with a bundle trailer.
bool hasBundle(const std::string &path);

} // namespace fd::runtime

#endif
