//===- ChatFormat.h - the tokenizer and chat format a model ships -*- C++
//-*-===//
//
// The runtime tokenizes with the checkpoint's tokenizer.json (copied into
// the compiled model as is) and formats conversations from chat.json, which
// the compiler writes here from tokenizer.json's added tokens,
// tokenizer_config.json and generation_config.json. The runtime knows
// nothing about Qwen: chat.json spells out every string it inserts.
//
//===----------------------------------------------------------------------===//

#ifndef FUSEDECODE_COMPILER_IMPORT_CHATFORMAT_H
#define FUSEDECODE_COMPILER_IMPORT_CHATFORMAT_H

#include "compiler/import/ModelFamily.h"

#include "llvm/Support/Error.h"

#include <string>

namespace fd::import {

struct ChatFiles {
  /// tokenizer.json's bytes; empty when the checkpoint has none (the model
  /// then runs on token ids only).
  std::string tokenizerJson;
  /// chat.json's text; empty without a tokenizer.
  std::string chatJson;
};

/// Reads `dir`'s tokenizer files. Malformed files or fields are one-line
/// errors naming the file and field.
llvm::Expected<ChatFiles> importChatFormat(const std::string &dir,
                                           Family family);

} // namespace fd::import

#endif
