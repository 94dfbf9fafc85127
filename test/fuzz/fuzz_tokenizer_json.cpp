//===- fuzz_tokenizer_json.cpp - loading an arbitrary tokenizer.json ------===//

#include "FuzzSupport.h"

#include "Tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fd::runtime::Tokenizer t;
  std::string_view json(reinterpret_cast<const char *>(data), size);
  if (fd_error_t err =
          fd::runtime::Tokenizer::load(json, "tokenizer.json", t)) {
    std::string msg = fd_error_message(err);
    fd_error_free(err);
    fd::fuzz::require(msg.find('\n') == std::string::npos,
                      "errors are one line");
    return 0;
  }
  // A tokenizer that loaded must work.
  std::vector<int32_t> ids =
      t.encode("Hello, world! 123 <|im_end|> \xE4\xBD\xA0");
  for (int32_t id : ids) {
    fd::fuzz::require(id >= 0 && id < t.size(), "ids are in the vocabulary");
  }
  (void)t.decode(ids);
  return 0;
}
