//===- DType.h - safetensors element types ----------------------*- C++ -*-===//
//
// Header-only and free of LLVM, so that tools which only write checkpoints
// (fd-synth) build without the compiler's libraries.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_IMPORT_DTYPE_H
#define FUSEDECODE_COMPILER_IMPORT_DTYPE_H

#include <optional>
#include <string_view>

namespace fd::import {

/// Element types a safetensors header may name.
enum class DType {
  BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2
};

namespace detail {
struct DTypeEntry {
  DType type;
  const char *name;
  unsigned size;
};
inline constexpr DTypeEntry kDTypes[] = {
    {DType::BOOL, "BOOL", 1},   {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},       {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},     {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},     {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},     {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},   {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},     {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
};
} // namespace detail

/// Size in bytes of one element.
inline unsigned dtypeSize(DType t) {
  for (const detail::DTypeEntry &e : detail::kDTypes) {
    if (e.type == t) {
      return e.size;
    }
  }
  return 0;
}

/// The header spelling ("BF16", "I32", ...).
inline const char *dtypeName(DType t) {
  for (const detail::DTypeEntry &e : detail::kDTypes) {
    if (e.type == t) {
      return e.name;
    }
  }
  return "?";
}

/// Parses the header spelling; nullopt when unknown.
inline std::optional<DType> parseDType(std::string_view s) {
  for (const detail::DTypeEntry &e : detail::kDTypes) {
    if (s == e.name) {
      return e.type;
    }
  }
  return std::nullopt;
}

} // namespace fd::import

#endif
