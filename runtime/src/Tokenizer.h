//===- Tokenizer.h - byte-level BPE from a tokenizer.json -------*- C++ -*-===//
//
// The Hugging Face `tokenizers` model that Qwen (and GPT-2, Llama 3) ship:
// optional Unicode normalization, added tokens split out first, a regex
// pre-tokenizer (PCRE2 with Unicode properties), byte-level BPE by merge
// rank, and the byte-level decoder. Every field of tokenizer.json that would
// change the result is read; one this code does not implement is a one-line
// error naming it, never a silently different tokenization.
//
// Text is bytes: encode() first replaces invalid UTF-8 by U+FFFD (what a
// Python str would hold), decode() returns the lossy UTF-8 of the tokens'
// bytes, and StreamDecoder emits only whole characters.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_RUNTIME_TOKENIZER_H
#define FUSEDECODE_RUNTIME_TOKENIZER_H

#include "fusedecode/status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fd::runtime {

class Tokenizer {
public:
  Tokenizer();
  ~Tokenizer();
  Tokenizer(Tokenizer &&) noexcept;
  Tokenizer &operator=(Tokenizer &&) noexcept;

  /// Parses tokenizer.json's text; `origin` names it in errors.
  static fd_error_t load(std::string_view json, const std::string &origin,
                         Tokenizer &out);

  /// Token ids of `text`. With parseSpecial false, added tokens marked
  /// special are ordinary text (what `split_special_tokens` does).
  std::vector<int32_t> encode(std::string_view text,
                              bool parseSpecial = true) const;

  /// The UTF-8 text of `ids` (invalid sequences become U+FFFD, as HF does);
  /// ids outside the vocabulary are skipped.
  std::string decode(const std::vector<int32_t> &ids,
                     bool skipSpecial = false) const;

  /// The raw bytes token `id` stands for (empty outside the vocabulary).
  const std::string &tokenBytes(int32_t id) const;
  bool isSpecial(int32_t id) const;
  /// The id of the vocabulary entry or added token spelled `content`, or -1.
  int32_t find(std::string_view content) const;
  /// One past the largest id.
  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> bytes_; // by id
};

/// Turns a stream of token bytes into text without splitting a character:
/// push() returns what became complete, finish() what is left (a truncated
/// sequence as U+FFFD).
class StreamDecoder {
public:
  std::string push(std::string_view bytes);
  std::string finish();

private:
  std::string pending_;
};

/// `bytes` as valid UTF-8: every maximal invalid subpart becomes U+FFFD
/// (the Unicode-recommended substitution Rust's from_utf8_lossy and
/// Python's errors="replace" use).
std::string toValidUtf8(std::string_view bytes);

} // namespace fd::runtime

#endif
