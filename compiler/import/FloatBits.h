//===- FloatBits.h - f32 <-> bf16/f16 element conversions -------*- C++ -*-===//
//
// The one host-side home of the 16-bit float conversions that the checkpoint
// writer, the reference executor and the weight packer share. Header-only and
// free of LLVM for the same reason as DType.h.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_IMPORT_FLOATBITS_H
#define FUSEDECODE_COMPILER_IMPORT_FLOATBITS_H

#include "compiler/import/DType.h"

#include <cstdint>
#include <cstring>
#include <optional>

namespace fd::import {

inline float bf16BitsToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Rounds to nearest even by hand: libgcc 12 has no __truncsfbf2, so the
/// __bf16 cast does not link on Debian 12.
inline uint16_t floatToBf16Bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float halfBitsToFloat(uint16_t b) {
  _Float16 h;
  std::memcpy(&h, &b, 2);
  return static_cast<float>(h);
}

inline uint16_t floatToHalfBits(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}

/// Reads one F32/BF16/F16 element from unaligned bytes; nullopt for any other
/// element type, so callers can name the offending tensor.
inline std::optional<float> loadFloatElement(DType t, const void *p) {
  switch (t) {
  case DType::F32: {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  case DType::BF16:
  case DType::F16: {
    uint16_t b;
    std::memcpy(&b, p, 2);
    return t == DType::BF16 ? bf16BitsToFloat(b) : halfBitsToFloat(b);
  }
  default:
    return std::nullopt;
  }
}

/// Writes one F32/BF16/F16 element; false for any other element type.
inline bool storeFloatElement(DType t, float v, void *out) {
  switch (t) {
  case DType::F32:
    std::memcpy(out, &v, 4);
    return true;
  case DType::BF16:
  case DType::F16: {
    uint16_t b = t == DType::BF16 ? floatToBf16Bits(v) : floatToHalfBits(v);
    std::memcpy(out, &b, 2);
    return true;
  }
  default:
    return false;
  }
}

} // namespace fd::import

#endif
