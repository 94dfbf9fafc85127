//===- SynthTokenizer.cpp - tokenizer files for synthetic checkpoints -----===//
//
// A synthetic checkpoint carries the three tokenizer files of the released
// layout: tokenizer.json (Qwen3.5's normalizer, split pattern, byte-level
// BPE and added tokens), tokenizer_config.json (with a ChatML chat template)
// and generation_config.json. The vocabulary is the 256 bytes plus merges
// learnt from the English text below, as many as fit below the special
// tokens; the special tokens keep their real ids where the vocabulary is
// large enough (Qwen3.5: from 248,044) and sit at its top otherwise.
//
//===----------------------------------------------------------------------===//

#include "Synth.h"

#include "fusedecode/byte_level.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace fd::synth {

namespace {

using json = nlohmann::ordered_json;
using import::Family;

// Training text for the merges: any English prose works; the merges only
// need to be deterministic and look like a real vocabulary's first ones.
constexpr const char *kTrainingText =
    "The compiler reads the checkpoint, builds a graph of the decode step and "
    "turns every operation into a kernel launch. The runtime loads the plan, "
    "reads the weights into device memory and replays the whole step as one "
    "graph for every token. Decoding one token at a time reads every weight "
    "once, so the speed of the memory sets the speed of the model. The "
    "experts of a mixture are chosen per token by the router: eight of them "
    "out of two hundred and fifty six, and a shared expert that every token "
    "uses. The linear attention keeps a state of fixed size for each head, "
    "and the full attention layers keep the keys and values of every "
    "position in the cache. A tokenizer splits the text into words, then "
    "merges the bytes of each word, the most frequent pairs first, until no "
    "merge is left. The chat format wraps each turn of the conversation "
    "between a start and an end marker, with the role of the speaker on the "
    "first line. When the model writes the end marker, the answer is "
    "complete and the user may ask the next question. Numbers such as 1, 12, "
    "128 and 4096 are split into single digits. Thinking is on by default: "
    "the answer starts with the reasoning, then the reply. This text is "
    "written for the tests of the project and means nothing else.";

const char *const kQwen35Specials[] = {"<|endoftext|>",
                                       "<|im_start|>",
                                       "<|im_end|>",
                                       "<|object_ref_start|>",
                                       "<|object_ref_end|>",
                                       "<|box_start|>",
                                       "<|box_end|>",
                                       "<|quad_start|>",
                                       "<|quad_end|>",
                                       "<|vision_start|>",
                                       "<|vision_end|>",
                                       "<|vision_pad|>",
                                       "<|image_pad|>",
                                       "<|video_pad|>",
                                       "<tool_call>",
                                       "</tool_call>",
                                       "<|fim_prefix|>",
                                       "<|fim_middle|>",
                                       "<|fim_suffix|>",
                                       "<|fim_pad|>",
                                       "<|repo_name|>",
                                       "<|file_sep|>",
                                       "<tool_response>",
                                       "</tool_response>",
                                       "<think>",
                                       "</think>",
                                       "<|audio_start|>",
                                       "<|audio_end|>",
                                       "<tts_pad>",
                                       "<tts_text_bos>",
                                       "<tts_text_eod>",
                                       "<tts_text_bos_single>",
                                       "<|audio_pad|>"};
// Qwen3 has the first 26 of them, from 151,643.
constexpr int64_t kQwen3SpecialCount = 26;
constexpr int64_t kQwen3SpecialStart = 151643;
constexpr int64_t kQwen35SpecialStart = 248044;

// Qwen3.5's split pattern (letters with their combining marks, single digits).
constexpr const char *kSplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::string byteLevel(const std::string &bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    uint32_t cp = fd_byte_level_code_point(b);
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

/// The training text's words as the split pattern cuts ASCII: a letter run
/// with at most one leading non-letter, single digits, punctuation runs
/// with at most one leading space, whitespace.
std::map<std::string, int64_t> trainingWords() {
  std::map<std::string, int64_t> words;
  std::string text = kTrainingText;
  auto letter = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c));
  };
  auto digit = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  };
  for (size_t i = 0; i < text.size();) {
    size_t j = i;
    if (letter(text[j]) ||
        (j + 1 < text.size() && !digit(text[j]) && letter(text[j + 1]))) {
      ++j;
      while (j < text.size() && letter(text[j])) {
        ++j;
      }
    } else if (digit(text[j])) {
      ++j;
    } else {
      if (text[j] == ' ') {
        ++j;
      }
      while (j < text.size() && !letter(text[j]) && !digit(text[j]) &&
             text[j] != ' ') {
        ++j;
      }
      j = std::max(j, i + 1);
    }
    ++words[text.substr(i, j - i)];
    i = j;
  }
  return words;
}

} // namespace

TokenizerFiles makeTokenizerFiles(const SynthOptions &opts) {
  const ModelShape &s = opts.shape;
  const bool qwen3 = s.family == Family::Qwen3Moe;
  const int64_t nSpecial =
      qwen3 ? kQwen3SpecialCount
            : static_cast<int64_t>(std::size(kQwen35Specials));
  const int64_t realStart = qwen3 ? kQwen3SpecialStart : kQwen35SpecialStart;
  const int64_t specialStart =
      s.vocab >= realStart + nSpecial ? realStart : s.vocab - nSpecial;
  const int64_t maxMerges = std::max<int64_t>(0, specialStart - 256);

  // Byte-pair training: merge the most frequent adjacent pair (the smallest
  // pair of ids on ties) until the budget or the pairs run out.
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    tokens.emplace_back(1, static_cast<char>(b));
  }
  std::vector<std::pair<std::vector<int64_t>, int64_t>> words;
  for (const auto &[w, count] : trainingWords()) {
    std::vector<int64_t> ids;
    for (unsigned char c : w) {
      ids.push_back(c);
    }
    words.emplace_back(std::move(ids), count);
  }
  json merges = json::array();
  for (int64_t m = 0; m < maxMerges; ++m) {
    std::map<std::pair<int64_t, int64_t>, int64_t> pairs;
    for (const auto &[ids, count] : words) {
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        pairs[{ids[i], ids[i + 1]}] += count;
      }
    }
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (best == pairs.end() || it->second > best->second) {
        best = it;
      }
    }
    if (best == pairs.end()) {
      break;
    }
    auto [a, b] = best->first;
    int64_t id = static_cast<int64_t>(tokens.size());
    tokens.push_back(tokens[static_cast<size_t>(a)] +
                     tokens[static_cast<size_t>(b)]);
    merges.push_back({byteLevel(tokens[static_cast<size_t>(a)]),
                      byteLevel(tokens[static_cast<size_t>(b)])});
    for (auto &[ids, count] : words) {
      for (size_t i = 0; i + 1 < ids.size(); ++i) {
        if (ids[i] == a && ids[i + 1] == b) {
          ids[i] = id;
          ids.erase(ids.begin() + static_cast<ptrdiff_t>(i) + 1);
        }
      }
    }
  }

  json vocab = json::object();
  for (size_t id = 0; id < tokens.size(); ++id) {
    vocab[byteLevel(tokens[id])] = id;
  }
  json added = json::array();
  for (int64_t i = 0; i < nSpecial; ++i) {
    std::string content = kQwen35Specials[i];
    added.push_back({{"id", specialStart + i},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", content.rfind("<|", 0) == 0}});
  }
  json byteLevelStep = {{"type", "ByteLevel"},
                        {"add_prefix_space", false},
                        {"trim_offsets", false},
                        {"use_regex", false}};
  json tokenizer = {{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", {{"type", "NFC"}}},
                    {"pre_tokenizer",
                     {{"type", "Sequence"},
                      {"pretokenizers",
                       {{{"type", "Split"},
                         {"pattern", {{"Regex", kSplitPattern}}},
                         {"behavior", "Isolated"},
                         {"invert", false}},
                        byteLevelStep}}}},
                    {"post_processor", byteLevelStep},
                    {"decoder", byteLevelStep},
                    {"model",
                     {{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"continuing_subword_prefix", ""},
                      {"end_of_word_suffix", ""},
                      {"fuse_unk", false},
                      {"byte_fallback", false},
                      {"ignore_merges", false},
                      {"vocab", vocab},
                      {"merges", merges}}}};

  // A ChatML template of our own wording: what matters to the compiler is
  // the format it renders (im_start / im_end turns, the think block).
  std::string generationPrompt =
      qwen3 ? "{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is "
              "defined and enable_thinking is false %}{{- "
              "'<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
            : "{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is "
              "defined and enable_thinking is false %}{{- "
              "'<think>\\n\\n</think>\\n\\n' }}{%- else %}{{- '<think>\\n' "
              "}}{%- endif %}";
  std::string chatTemplate =
      "{%- for message in messages %}{{- '<|im_start|>' + message.role + "
      "'\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}{%- if "
      "add_generation_prompt %}" +
      generationPrompt + "{%- endif %}";
  json config = {{"add_bos_token", false},
                 {"bos_token", nullptr},
                 {"eos_token", "<|im_end|>"},
                 {"pad_token", "<|endoftext|>"},
                 {"model_max_length", s.maxPositions},
                 {"tokenizer_class", "Qwen2Tokenizer"},
                 {"chat_template", chatTemplate}};
  json generation = {{"bos_token_id", specialStart},
                     {"eos_token_id", {specialStart + 2, specialStart}},
                     {"pad_token_id", specialStart},
                     {"do_sample", true},
                     {"temperature", 0.6},
                     {"top_k", 20},
                     {"top_p", 0.95}};
  return {tokenizer.dump(), config.dump(2) + "\n", generation.dump(2) + "\n"};
}

} // namespace fd::synth
