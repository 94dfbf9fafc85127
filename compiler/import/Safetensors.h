//===- Safetensors.h - safetensors header reader ----------------*- C++ -*-===//
//
// Reads and validates safetensors headers (never the tensor data) of a single
// file or of a sharded checkpoint with model.safetensors.index.json.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_IMPORT_SAFETENSORS_H
#define FUSEDECODE_COMPILER_IMPORT_SAFETENSORS_H

#include "compiler/import/DType.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fd::import {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  /// Absolute byte range in the file (header and its length prefix included).
  uint64_t begin = 0, end = 0;

  int64_t numElements() const;
};

struct Shard {
  /// File name relative to the checkpoint directory.
  std::string file;
  std::string path;
  uint64_t fileSize = 0;
  /// Offset of the data region: 8 + header length.
  uint64_t dataStart = 0;
  std::vector<TensorInfo> tensors;
};

/// Reads one file's header and checks every entry: known dtype, non-negative
/// shape, data offsets inside the file, matching shape x dtype, and no two
/// tensors overlapping. Errors read "<path>: <tensor or field>: <problem>".
llvm::Expected<Shard> readSafetensorsHeader(const std::string &dir,
                                            const std::string &file);

/// All shards of a checkpoint directory and a name -> tensor index.
class Checkpoint {
public:
  /// Opens `model.safetensors.index.json` when present (every shard it names
  /// must exist and hold exactly the tensors mapped to it), else the single
  /// `*.safetensors` file of the directory.
  static llvm::Expected<Checkpoint> open(const std::string &dir);

  struct Ref {
    unsigned shard;
    const TensorInfo *info;
  };
  std::optional<Ref> find(llvm::StringRef name) const;

  /// The bytes of tensor `name` (its data, never the header). Errors name
  /// the shard and tensor: missing, or a short read of a truncated file.
  llvm::Expected<std::vector<char>> read(llvm::StringRef name) const;

  const std::vector<Shard> &shards() const { return shards_; }
  const std::string &dir() const { return dir_; }
  size_t numTensors() const { return index_.size(); }
  /// Every tensor name, for callers that account for what they consumed.
  std::vector<llvm::StringRef> tensorNames() const;

private:
  static llvm::Expected<Checkpoint> openImpl(const std::string &dir);
  llvm::Error addShard(Shard shard);

  std::string dir_;
  std::vector<Shard> shards_;
  llvm::StringMap<std::pair<unsigned, unsigned>> index_;
};

} // namespace fd::import

#endif
