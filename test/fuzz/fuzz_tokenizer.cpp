//===- fuzz_tokenizer.cpp - encode arbitrary bytes, decode arbitrary ids --===//
//
// The tokenizer is the bundled example's (Qwen3.5's structure, 512 ids) or
// $FD_FUZZ_TOKENIZER's. Properties checked on every input:
//   - decode always gives valid UTF-8, and the streamed pieces add up to it;
//   - ASCII text (its own NFC form) round-trips exactly;
//   - encode never yields an id outside the vocabulary.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "Tokenizer.h"

#include <algorithm>
#include <fstream>
#include <sstream>

using fd::fuzz::require;
using fd::runtime::StreamDecoder;
using fd::runtime::Tokenizer;
using fd::runtime::toValidUtf8;

namespace {
const Tokenizer &tokenizer() {
  static const Tokenizer *t = [] {
    const char *env = std::getenv("FD_FUZZ_TOKENIZER");
    std::string path = env && *env ? env : FD_FUZZ_DEFAULT_TOKENIZER;
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto *tok = new Tokenizer;
    if (fd_error_t err = Tokenizer::load(ss.str(), path, *tok)) {
      std::fprintf(stderr, "%s\n", fd_error_message(err));
      std::abort();
    }
    return tok;
  }();
  return *t;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const Tokenizer &t = tokenizer();
  std::string_view text(reinterpret_cast<const char *>(data), size);

  for (bool special : {true, false}) {
    std::vector<int32_t> ids = t.encode(text, special);
    for (int32_t id : ids) {
      require(id >= 0 && id < t.size(), "encoded ids are in the vocabulary");
    }
    bool ascii = std::all_of(text.begin(), text.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x80;
    });
    if (ascii) {
      require(t.decode(ids) == text, "ASCII text round-trips");
    }
  }

  // The same bytes as ids (two bytes each), some outside the vocabulary.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 1 < size; i += 2) {
    ids.push_back(
        static_cast<int32_t>(data[i] | data[i + 1] << 8) % (t.size() + 16) - 8);
  }
  for (bool skip : {false, true}) {
    std::string whole = t.decode(ids, skip);
    require(toValidUtf8(whole) == whole, "decode gives valid UTF-8");
    StreamDecoder stream;
    std::string streamed;
    for (int32_t id : ids) {
      if (!(skip && t.isSpecial(id))) {
        std::string piece = stream.push(t.tokenBytes(id));
        require(toValidUtf8(piece) == piece, "stream pieces are valid UTF-8");
        streamed += piece;
      }
    }
    streamed += stream.finish();
    require(streamed == whole, "the streamed pieces add up to decode");
  }
  return 0;
}
