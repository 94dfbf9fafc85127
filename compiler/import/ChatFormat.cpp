//===- ChatFormat.cpp - the tokenizer and chat format a model ships -------===//

#include "compiler/import/ChatFormat.h"

#include "compiler/import/Errors.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace fd::import {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

/// The file's text, or nullopt when it does not exist.
llvm::Expected<std::optional<std::string>> readIfPresent(const fs::path &p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) {
    return std::optional<std::string>();
  }
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) {
    return makeError(p.string(), "", "cannot read");
  }
  return std::optional<std::string>(ss.str());
}

llvm::Expected<json> parseObject(const fs::path &p, const std::string &text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError(p.string(), "", "not a JSON object");
  }
  return doc;
}

} // namespace

llvm::Expected<ChatFiles> importChatFormat(const std::string &dir,
                                           Family family) {
  ChatFiles out;
  const fs::path tokPath = fs::path(dir) / "tokenizer.json";
  auto tokText = readIfPresent(tokPath);
  if (!tokText) {
    return tokText.takeError();
  }
  if (!*tokText) {
    return out;
  }
  auto tok = parseObject(tokPath, **tokText);
  if (!tok) {
    return tok.takeError();
  }
  // The added tokens by content; the tokenizer itself is checked in full by
  // the runtime's loader (test: a compiled model with a broken one).
  std::map<std::string, int64_t> added;
  if (tok->contains("added_tokens") && (*tok)["added_tokens"].is_array()) {
    for (const json &a : (*tok)["added_tokens"]) {
      if (!a.is_object() || !a.contains("content") || !a.contains("id") ||
          !a["content"].is_string() || !a["id"].is_number_integer()) {
        return makeError(tokPath.string(), "added_tokens",
                         "an entry lacks a string content or integer id");
      }
      added[a["content"].get<std::string>()] = a["id"].get<int64_t>();
    }
  }

  json chat = json::object();
  chat["stop_ids"] = json::array();
  const fs::path genPath = fs::path(dir) / "generation_config.json";
  auto genText = readIfPresent(genPath);
  if (!genText) {
    return genText.takeError();
  }
  json sampling = json::object();
  if (*genText) {
    auto gen = parseObject(genPath, **genText);
    if (!gen) {
      return gen.takeError();
    }
    if (gen->contains("eos_token_id")) {
      const json &eos = (*gen)["eos_token_id"];
      if (eos.is_number_integer()) {
        chat["stop_ids"].push_back(eos);
      } else if (eos.is_array() &&
                 std::all_of(eos.begin(), eos.end(), [](const json &v) {
                   return v.is_number_integer();
                 })) {
        chat["stop_ids"] = eos;
      } else if (!eos.is_null()) {
        return makeError(genPath.string(), "eos_token_id",
                         "expected an integer or a list of integers");
      }
    }
    // The model's recommended sampling, the CLI's and server's defaults.
    for (const char *f :
         {"temperature", "top_k", "top_p", "min_p", "repetition_penalty"}) {
      if (gen->contains(f) && !(*gen)[f].is_null()) {
        if (!(*gen)[f].is_number()) {
          return makeError(genPath.string(), f, "expected a number");
        }
        sampling[f] = (*gen)[f];
      }
    }
    if (gen->value("do_sample", true) == false) {
      sampling["temperature"] = 0.0;
    }
  }
  chat["sampling"] = sampling;
  chat["stop"] = json::array();
  for (const char *s : {"<|im_end|>", "<|endoftext|>"}) {
    if (added.count(s)) {
      chat["stop"].push_back(s);
    }
  }

  // ChatML when the tokenizer has its markers and the template uses them.
  const fs::path cfgPath = fs::path(dir) / "tokenizer_config.json";
  auto cfgText = readIfPresent(cfgPath);
  if (!cfgText) {
    return cfgText.takeError();
  }
  std::string chatTemplate;
  if (*cfgText) {
    auto cfg = parseObject(cfgPath, **cfgText);
    if (!cfg) {
      return cfg.takeError();
    }
    if (cfg->contains("chat_template")) {
      const json &t = (*cfg)["chat_template"];
      if (t.is_string()) {
        chatTemplate = t.get<std::string>();
      } else if (t.is_array()) { // named templates: the "default" one
        for (const json &named : t) {
          if (named.is_object() && named.value("name", "") == "default" &&
              named.contains("template") && named["template"].is_string()) {
            chatTemplate = named["template"].get<std::string>();
          }
        }
      } else if (!t.is_null()) {
        return makeError(cfgPath.string(), "chat_template",
                         "expected a string or a list of named templates");
      }
    }
  }
  // Newer checkpoints keep the template in its own file.
  auto jinja = readIfPresent(fs::path(dir) / "chat_template.jinja");
  if (!jinja) {
    return jinja.takeError();
  }
  if (*jinja) {
    chatTemplate = **jinja;
  }
  if (added.count("<|im_start|>") && added.count("<|im_end|>") &&
      chatTemplate.find("<|im_start|>") != std::string::npos) {
    chat["format"] = "chatml";
    chat["turn_start"] = "<|im_start|>";
    chat["turn_end"] = "<|im_end|>\n";
    chat["generation_prompt"] = "<|im_start|>assistant\n";
    // Qwen3.5 opens the think block in the prompt; Qwen3 lets the model
    // write it. Both close an empty one to turn thinking off.
    chat["thinking_on"] = family == Family::Qwen35Moe ? "<think>\n" : "";
    chat["thinking_off"] = "<think>\n\n</think>\n\n";
  } else {
    chat["format"] = nullptr;
  }
  out.tokenizerJson = std::move(**tokText);
  out.chatJson = chat.dump(2) + "\n";
  return out;
}

} // namespace fd::import
