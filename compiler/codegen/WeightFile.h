//===- WeightFile.h - writing OUT/weights.fdw --------------------*- C++
//-*-===//
//
// Writes the packed weights file whose layout runtime/include/fusedecode/
// fdw_format.h defines (the format header is shared; the runtime library is
// not linked). Tensors are produced one at a time, so a 20 GB model streams
// through a buffer of one tensor.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_CODEGEN_WEIGHTFILE_H
#define FUSEDECODE_COMPILER_CODEGEN_WEIGHTFILE_H

#include "fusedecode/fdw_format.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fd::codegen {

struct PackedTensor {
  std::string name;
  FdwDType dtype;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

/// Fills `out` (already sized to the tensor's bytes) with tensor `index`'s
/// data; returns an error message, empty on success.
using TensorProducer =
    std::function<std::string(size_t index, std::vector<uint8_t> &out)>;

/// Writes `path` through `path.partial`, renamed only when complete, so a
/// failed run leaves no partial weights file behind. Returns an error
/// message, empty on success.
std::string writeWeightFile(const std::string &path, uint64_t planHash,
                            const std::vector<PackedTensor> &tensors,
                            const TensorProducer &produce);

} // namespace fd::codegen

#endif
