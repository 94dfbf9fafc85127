//===- Tokenizer.cpp - byte-level BPE from a tokenizer.json ---------------===//

#include "Tokenizer.h"

#include "Status.h"
#include "fusedecode/byte_level.h"

#include <nlohmann/json.hpp>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace fd::runtime {

namespace {

using json = nlohmann::json;

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

/// Length of the well-formed sequence starting at s[0] (1-4), or the
/// negated length of its maximal invalid subpart (-1..-3). `complete` is
/// false when the bytes end inside a sequence that could still be valid.
int sequenceAt(const unsigned char *s, size_t n, bool &complete) {
  complete = true;
  unsigned char b = s[0];
  if (b < 0x80) {
    return 1;
  }
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    lo = b == 0xE0 ? 0xA0 : 0x80;
    hi = b == 0xED ? 0x9F : 0xBF;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    lo = b == 0xF0 ? 0x90 : 0x80;
    hi = b == 0xF4 ? 0x8F : 0xBF;
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (static_cast<size_t>(i) >= n) {
      complete = false;
      return -i;
    }
    unsigned char c = s[i];
    if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) {
      return -i;
    }
  }
  return need + 1;
}

/// The code point of the well-formed sequence at s (length len).
uint32_t codePoint(const unsigned char *s, int len) {
  if (len == 1) {
    return s[0];
  }
  uint32_t cp = s[0] & (0x7F >> len);
  for (int i = 1; i < len; ++i) {
    cp = cp << 6 | (s[i] & 0x3F);
  }
  return cp;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
}

/// Rust's char::is_whitespace (the White_Space property), which HF uses for
/// an added token's lstrip / rstrip.
bool isWhiteSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

//===----------------------------------------------------------------------===//
// Byte-level alphabet (GPT-2): every byte is one printable code point
//===----------------------------------------------------------------------===//

struct ByteAlphabet {
  uint32_t byteToCp[256];
  std::unordered_map<uint32_t, unsigned char> cpToByte;
  std::string mapped[256]; // UTF-8 of byteToCp
  ByteAlphabet() {
    for (int b = 0; b < 256; ++b) {
      byteToCp[b] = fd_byte_level_code_point(static_cast<uint8_t>(b));
      cpToByte[byteToCp[b]] = static_cast<unsigned char>(b);
      appendUtf8(mapped[b], byteToCp[b]);
    }
  }
};

const ByteAlphabet &alphabet() {
  static const ByteAlphabet a;
  return a;
}

/// What HF's ByteLevel decoder makes of a token string: its bytes when every
/// character is in the alphabet, else the string's own UTF-8.
std::string tokenStringToBytes(const std::string &s) {
  const ByteAlphabet &a = alphabet();
  std::string out;
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  for (size_t i = 0; i < s.size();) {
    bool complete;
    int len = sequenceAt(p + i, s.size() - i, complete);
    if (len < 0) {
      return s;
    }
    auto it = a.cpToByte.find(codePoint(p + i, len));
    if (it == a.cpToByte.end()) {
      return s;
    }
    out += static_cast<char>(it->second);
    i += static_cast<size_t>(len);
  }
  return out;
}

struct Pcre2Code {
  pcre2_code *code = nullptr;
  ~Pcre2Code() { pcre2_code_free(code); }
};

/// PCRE2's matching objects, freed however the match loop is left (a
/// std::bad_alloc from the piece vectors included).
struct Pcre2MatchDataFree {
  void operator()(pcre2_match_data *p) const { pcre2_match_data_free(p); }
};
struct Pcre2JitStackFree {
  void operator()(pcre2_jit_stack *p) const { pcre2_jit_stack_free(p); }
};
struct Pcre2MatchContextFree {
  void operator()(pcre2_match_context *p) const { pcre2_match_context_free(p); }
};

} // namespace

std::string toValidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  for (size_t i = 0; i < bytes.size();) {
    bool complete;
    int len = sequenceAt(p + i, bytes.size() - i, complete);
    if (len > 0) {
      out.append(bytes.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out += kReplacement;
      i += static_cast<size_t>(-len);
    }
  }
  return out;
}

std::string StreamDecoder::push(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  const auto *p = reinterpret_cast<const unsigned char *>(pending_.data());
  size_t i = 0;
  while (i < pending_.size()) {
    bool complete;
    int len = sequenceAt(p + i, pending_.size() - i, complete);
    if (!complete) {
      break; // a character still arriving
    }
    if (len > 0) {
      out.append(pending_, i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out += kReplacement;
      i += static_cast<size_t>(-len);
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = toValidUtf8(pending_);
  pending_.clear();
  return out;
}

//===----------------------------------------------------------------------===//
// The tokenizer
//===----------------------------------------------------------------------===//

struct AddedToken {
  std::string content;
  int32_t id;
  bool special, normalized, lstrip, rstrip;
};

enum class Normalization { None, NFC, NFD, NFKC, NFKD };

struct PreStep {
  enum Kind { Split, ByteLevel } kind;
  std::shared_ptr<Pcre2Code> regex; // Split, or ByteLevel with use_regex
  bool removeMatches = false;       // Split behavior "Removed"
};

struct Tokenizer::Impl {
  std::vector<Normalization> normalizers;
  std::vector<PreStep> pre;
  std::vector<AddedToken> added; // longest first within each first byte
  std::vector<int8_t> specialById;
  std::unordered_map<std::string, int32_t> vocab; // token string -> id
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>>
      merges; // -> rank, id
  int32_t byteIds[256];
  int32_t unk = -1;
  bool ignoreMerges = false;

  std::string normalize(std::string_view text) const;
  void splitAdded(std::string_view text, bool normalizedPass, bool parseSpecial,
                  std::vector<std::pair<std::string_view, int32_t>> &out) const;
  void preTokenize(std::string_view text,
                   std::vector<std::string_view> &pieces) const;
  void bpe(std::string_view word, std::vector<int32_t> &out,
           std::unordered_map<std::string, std::vector<int32_t>> &cache) const;
};

// Real vocabularies stay far below this (Qwen3.5: 248,077 ids); ids size
// the per-id tables, so an absurd one must not allocate gigabytes.
constexpr int64_t kMaxTokenId = 1 << 22;

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;

namespace {

fd_error_t compileRegex(const std::string &pattern, const std::string &where,
                        std::shared_ptr<Pcre2Code> &out) {
  int code;
  PCRE2_SIZE offset;
  out = std::make_shared<Pcre2Code>();
  out->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                            pattern.size(), PCRE2_UTF | PCRE2_UCP, &code,
                            &offset, nullptr);
  if (!out->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    return makeError(where + ": cannot compile the pattern at offset " +
                     std::to_string(offset) + ": " +
                     reinterpret_cast<const char *>(msg));
  }
  // JIT where the platform has it; the interpreter gives the same matches.
  pcre2_jit_compile(out->code, PCRE2_JIT_COMPLETE);
  return nullptr;
}

// GPT-2's split, what ByteLevel's use_regex means.
constexpr const char *kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

fd_error_t parseNormalizer(const json &n, const std::string &where,
                           std::vector<Normalization> &out) {
  if (n.is_null()) {
    return nullptr;
  }
  std::string type = n.value("type", "");
  if (type == "Sequence") {
    for (const json &child : n.at("normalizers")) {
      if (fd_error_t err = parseNormalizer(child, where, out)) {
        return err;
      }
    }
    return nullptr;
  }
  static const std::pair<const char *, Normalization> kinds[] = {
      {"NFC", Normalization::NFC},
      {"NFD", Normalization::NFD},
      {"NFKC", Normalization::NFKC},
      {"NFKD", Normalization::NFKD}};
  for (const auto &[name, kind] : kinds) {
    if (type == name) {
      out.push_back(kind);
      return nullptr;
    }
  }
  return makeError(where + ": normalizer type '" + type + "' is not supported");
}

fd_error_t parsePreTokenizer(const json &p, const std::string &where,
                             std::vector<PreStep> &out) {
  if (p.is_null()) {
    return nullptr;
  }
  std::string type = p.value("type", "");
  if (type == "Sequence") {
    for (const json &child : p.at("pretokenizers")) {
      if (fd_error_t err = parsePreTokenizer(child, where, out)) {
        return err;
      }
    }
    return nullptr;
  }
  if (type == "Split") {
    PreStep step{PreStep::Split, nullptr};
    const json &pattern = p.at("pattern");
    std::string regex;
    if (pattern.contains("Regex")) {
      regex = pattern.at("Regex").get<std::string>();
    } else {
      // A literal string: quote it for PCRE2.
      regex = "\\Q" + pattern.at("String").get<std::string>() + "\\E";
    }
    std::string behavior = p.value("behavior", "");
    if (behavior == "Removed") {
      step.removeMatches = true;
    } else if (behavior != "Isolated") {
      return makeError(where + ": pre_tokenizer Split behavior '" + behavior +
                       "' is not supported (Isolated, Removed)");
    }
    if (p.value("invert", false)) {
      return makeError(where + ": pre_tokenizer Split invert: true is not "
                               "supported");
    }
    if (fd_error_t err =
            compileRegex(regex, where + ": pre_tokenizer Split", step.regex)) {
      return err;
    }
    out.push_back(std::move(step));
    return nullptr;
  }
  if (type == "ByteLevel") {
    PreStep step{PreStep::ByteLevel, nullptr};
    if (p.value("add_prefix_space", false)) {
      return makeError(where + ": pre_tokenizer ByteLevel add_prefix_space: "
                               "true is not supported");
    }
    if (p.value("use_regex", true)) {
      if (fd_error_t err = compileRegex(
              kGpt2Pattern, where + ": pre_tokenizer ByteLevel", step.regex)) {
        return err;
      }
    }
    out.push_back(std::move(step));
    return nullptr;
  }
  return makeError(where + ": pre_tokenizer type '" + type +
                   "' is not supported (Sequence, Split, ByteLevel)");
}

bool nullOrEmpty(const json &model, const char *field) {
  auto it = model.find(field);
  return it == model.end() || it->is_null() ||
         (it->is_string() && it->get<std::string>().empty());
}

} // namespace

fd_error_t Tokenizer::load(std::string_view text, const std::string &origin,
                           Tokenizer &out) {
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return makeError(origin + ": not valid JSON");
  }
  Tokenizer t;
  Impl &im = *t.impl_;
  std::string field;
  try {
    field = "model";
    const json &model = doc.at("model");
    std::string type = model.value("type", "");
    if (type != "BPE") {
      return makeError(origin + ": model.type '" + type +
                       "' is not supported (BPE)");
    }
    for (const char *f :
         {"dropout", "continuing_subword_prefix", "end_of_word_suffix"}) {
      if (!nullOrEmpty(model, f)) {
        return makeError(origin + ": model." + f + " is not supported");
      }
    }
    if (model.value("byte_fallback", false)) {
      return makeError(origin + ": model.byte_fallback is not supported");
    }
    im.ignoreMerges = model.value("ignore_merges", false);

    field = "model.vocab";
    int32_t maxId = -1;
    for (const auto &[token, id] : model.at("vocab").items()) {
      // An integer in range: get<int64_t>() of a float is undefined
      // behaviour, and the ids size the tables (found by fuzzing).
      int64_t v = id.is_number_integer() ? id.get<int64_t>() : -1;
      if (v < 0 || v >= kMaxTokenId) {
        return makeError(origin + ": model.vocab: token '" + token +
                         "' has id " + id.dump() + " (expected 0 to " +
                         std::to_string(kMaxTokenId - 1) + ")");
      }
      im.vocab.emplace(token, static_cast<int32_t>(v));
      maxId = std::max(maxId, static_cast<int32_t>(v));
    }

    field = "added_tokens";
    if (doc.contains("added_tokens") && !doc.at("added_tokens").is_null()) {
      for (const json &a : doc.at("added_tokens")) {
        const json &id = a.at("id");
        int64_t v = id.is_number_integer() ? id.get<int64_t>() : -1;
        AddedToken tok{a.at("content").get<std::string>(),
                       static_cast<int32_t>(v < 0 || v >= kMaxTokenId ? -1 : v),
                       a.value("special", false),
                       a.value("normalized", false),
                       a.value("lstrip", false),
                       a.value("rstrip", false)};
        if (tok.id < 0 || tok.content.empty()) {
          return makeError(origin + ": added_tokens: '" + tok.content +
                           "' has id " + id.dump() +
                           (tok.content.empty()
                                ? " and no content"
                                : " (expected 0 to " +
                                      std::to_string(kMaxTokenId - 1) + ")"));
        }
        if (a.value("single_word", false)) {
          return makeError(origin + ": added_tokens: '" + tok.content +
                           "': single_word is not supported");
        }
        maxId = std::max(maxId, tok.id);
        im.added.push_back(std::move(tok));
      }
    }
    // Longest first, so the first that matches at a position is the
    // leftmost-longest match.
    std::sort(im.added.begin(), im.added.end(),
              [](const AddedToken &a, const AddedToken &b) {
                return a.content.size() > b.content.size();
              });

    t.bytes_.assign(static_cast<size_t>(maxId) + 1, std::string());
    im.specialById.assign(static_cast<size_t>(maxId) + 1, 0);
    for (const auto &[token, id] : im.vocab) {
      t.bytes_[static_cast<size_t>(id)] = tokenStringToBytes(token);
    }
    for (const AddedToken &a : im.added) {
      t.bytes_[static_cast<size_t>(a.id)] = tokenStringToBytes(a.content);
      im.specialById[static_cast<size_t>(a.id)] = a.special;
    }

    field = "model.merges";
    const ByteAlphabet &alpha = alphabet();
    for (int b = 0; b < 256; ++b) {
      auto it = im.vocab.find(alpha.mapped[b]);
      im.byteIds[b] = it == im.vocab.end() ? -1 : it->second;
    }
    int32_t rank = 0;
    for (const json &m : model.at("merges")) {
      std::string left, right;
      if (m.is_array() && m.size() == 2) {
        left = m[0].get<std::string>();
        right = m[1].get<std::string>();
      } else {
        std::string s = m.get<std::string>();
        size_t space = s.find(' ', 1);
        if (space == std::string::npos) {
          return makeError(origin + ": model.merges[" + std::to_string(rank) +
                           "]: '" + s + "' is not two tokens");
        }
        left = s.substr(0, space);
        right = s.substr(space + 1);
      }
      auto l = im.vocab.find(left), r = im.vocab.find(right),
           merged = im.vocab.find(left + right);
      if (l == im.vocab.end() || r == im.vocab.end() ||
          merged == im.vocab.end()) {
        return makeError(origin + ": model.merges[" + std::to_string(rank) +
                         "]: '" +
                         (l == im.vocab.end()   ? left
                          : r == im.vocab.end() ? right
                                                : left + right) +
                         "' is not in the vocabulary");
      }
      uint64_t key = static_cast<uint64_t>(l->second) << 32 |
                     static_cast<uint32_t>(r->second);
      im.merges.emplace(key, std::make_pair(rank, merged->second));
      ++rank;
    }
    if (!nullOrEmpty(model, "unk_token")) {
      auto it = im.vocab.find(model.at("unk_token").get<std::string>());
      if (it == im.vocab.end()) {
        return makeError(origin + ": model.unk_token is not in the vocabulary");
      }
      im.unk = it->second;
    }

    field = "normalizer";
    if (fd_error_t err = parseNormalizer(doc.value("normalizer", json()),
                                         origin, im.normalizers)) {
      return err;
    }
    field = "pre_tokenizer";
    if (fd_error_t err = parsePreTokenizer(doc.value("pre_tokenizer", json()),
                                           origin, im.pre)) {
      return err;
    }
    if (im.pre.empty() || im.pre.back().kind != PreStep::ByteLevel) {
      return makeError(origin + ": pre_tokenizer: a byte-level tokenizer must "
                                "end with ByteLevel");
    }
    field = "decoder";
    const json decoder = doc.value("decoder", json());
    if (decoder.is_null() || decoder.value("type", "") != "ByteLevel") {
      return makeError(origin + ": decoder: only ByteLevel is supported");
    }
  } catch (const json::exception &ex) {
    return makeError(origin + ": " + field + ": " + ex.what());
  }
  out = std::move(t);
  return nullptr;
}

std::string Tokenizer::Impl::normalize(std::string_view text) const {
  std::string s(text);
  for (Normalization n : normalizers) {
    if (isAscii(s)) {
      break; // every normal form of ASCII is itself
    }
    int options = UTF8PROC_STABLE;
    switch (n) {
    case Normalization::NFC:
      options |= UTF8PROC_COMPOSE;
      break;
    case Normalization::NFD:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case Normalization::NFKC:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case Normalization::NFKD:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
    case Normalization::None:
      continue;
    }
    utf8proc_uint8_t *result = nullptr;
    utf8proc_ssize_t len =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t *>(s.data()),
                     static_cast<utf8proc_ssize_t>(s.size()), &result,
                     static_cast<utf8proc_option_t>(options));
    if (len >= 0) {
      s.assign(reinterpret_cast<const char *>(result),
               static_cast<size_t>(len));
    }
    std::free(result);
  }
  return s;
}

void Tokenizer::Impl::splitAdded(
    std::string_view text, bool normalizedPass, bool parseSpecial,
    std::vector<std::pair<std::string_view, int32_t>> &out) const {
  // Pieces of text (id -1) and added tokens (their id), in order.
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const AddedToken *hit = nullptr;
    for (const AddedToken &a : added) {
      if (a.normalized != normalizedPass || (a.special && !parseSpecial)) {
        continue;
      }
      if (text.compare(i, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    size_t from = i, to = i + hit->content.size();
    const auto *p = reinterpret_cast<const unsigned char *>(text.data());
    if (hit->lstrip) {
      // Swallow the whitespace before it (not into the previous token).
      while (from > start) {
        size_t back = from - 1;
        while (back > start && (p[back] & 0xC0) == 0x80) {
          --back;
        }
        bool complete;
        int len = sequenceAt(p + back, text.size() - back, complete);
        if (len <= 0 || !isWhiteSpace(codePoint(p + back, len))) {
          break;
        }
        from = back;
      }
    }
    if (hit->rstrip) {
      while (to < text.size()) {
        bool complete;
        int len = sequenceAt(p + to, text.size() - to, complete);
        if (len <= 0 || !isWhiteSpace(codePoint(p + to, len))) {
          break;
        }
        to += static_cast<size_t>(len);
      }
    }
    if (from > start) {
      out.emplace_back(text.substr(start, from - start), -1);
    }
    out.emplace_back(text.substr(from, to - from), hit->id);
    start = i = to;
  }
  if (start < text.size()) {
    out.emplace_back(text.substr(start), -1);
  }
}

void Tokenizer::Impl::preTokenize(std::string_view text,
                                  std::vector<std::string_view> &pieces) const {
  std::vector<std::string_view> current{text}, next;
  std::unique_ptr<pcre2_match_data, Pcre2MatchDataFree> md;
  std::unique_ptr<pcre2_jit_stack, Pcre2JitStackFree> jitStack;
  std::unique_ptr<pcre2_match_context, Pcre2MatchContextFree> mc;
  for (const PreStep &step : pre) {
    if (!step.regex) {
      continue; // ByteLevel without its own split: the byte mapping is
                // implicit (BPE runs on bytes)
    }
    if (!md) {
      md.reset(pcre2_match_data_create(1, nullptr));
      if (!md) {
        throw std::bad_alloc(); // reported like any allocation failure
      }
      // Long runs (of whitespace, say) need more than the default 32 KiB;
      // without them the default stack still matches.
      jitStack.reset(pcre2_jit_stack_create(32 << 10, 8 << 20, nullptr));
      mc.reset(pcre2_match_context_create(nullptr));
      if (jitStack && mc) {
        pcre2_jit_stack_assign(mc.get(), nullptr, jitStack.get());
      }
    }
    next.clear();
    for (std::string_view piece : current) {
      size_t at = 0;
      while (at < piece.size()) {
        int rc = pcre2_match(
            step.regex->code, reinterpret_cast<PCRE2_SPTR>(piece.data()),
            piece.size(), at, PCRE2_NO_UTF_CHECK, md.get(), mc.get());
        if (rc < 0) {
          // No further match (or a matcher limit): the rest is one piece.
          next.push_back(piece.substr(at));
          break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md.get());
        size_t mStart = ov[0], mEnd = ov[1];
        if (mEnd == mStart) {
          // An empty match: step over one character.
          bool complete;
          int len = sequenceAt(
              reinterpret_cast<const unsigned char *>(piece.data()) + mEnd,
              piece.size() - mEnd, complete);
          mEnd += static_cast<size_t>(len > 0 ? len : 1);
          if (mStart > at) {
            next.push_back(piece.substr(at, mStart - at));
          }
          next.push_back(piece.substr(mStart, mEnd - mStart));
          at = mEnd;
          continue;
        }
        if (mStart > at) {
          next.push_back(piece.substr(at, mStart - at));
        }
        if (!step.removeMatches) {
          next.push_back(piece.substr(mStart, mEnd - mStart));
        }
        at = mEnd;
      }
    }
    current.swap(next);
  }
  pieces.insert(pieces.end(), current.begin(), current.end());
}

void Tokenizer::Impl::bpe(
    std::string_view word, std::vector<int32_t> &out,
    std::unordered_map<std::string, std::vector<int32_t>> &cache) const {
  std::string key(word);
  if (auto it = cache.find(key); it != cache.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  const ByteAlphabet &alpha = alphabet();
  std::vector<int32_t> symbols;
  if (ignoreMerges) {
    std::string mapped;
    for (unsigned char b : word) {
      mapped += alpha.mapped[b];
    }
    if (auto it = vocab.find(mapped); it != vocab.end()) {
      symbols.push_back(it->second);
    }
  }
  if (symbols.empty()) {
    for (unsigned char b : word) {
      if (byteIds[b] >= 0) {
        symbols.push_back(byteIds[b]);
      } else if (unk >= 0) {
        symbols.push_back(unk);
      }
    }
    // Merge the lowest-ranked adjacent pair (leftmost on ties) until none
    // is left: the order HF's and tiktoken's BPE both give.
    while (symbols.size() > 1) {
      int32_t bestRank = INT32_MAX, bestId = -1;
      size_t bestAt = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        auto it = merges.find(static_cast<uint64_t>(symbols[i]) << 32 |
                              static_cast<uint32_t>(symbols[i + 1]));
        if (it != merges.end() && it->second.first < bestRank) {
          bestRank = it->second.first;
          bestId = it->second.second;
          bestAt = i;
        }
      }
      if (bestId < 0) {
        break;
      }
      symbols[bestAt] = bestId;
      symbols.erase(symbols.begin() + static_cast<ptrdiff_t>(bestAt) + 1);
    }
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  cache.emplace(std::move(key), std::move(symbols));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text,
                                       bool parseSpecial) const {
  const Impl &im = *impl_;
  std::string valid = toValidUtf8(text);
  std::vector<int32_t> ids;
  std::unordered_map<std::string, std::vector<int32_t>> cache;
  std::vector<std::pair<std::string_view, int32_t>> raw, split;
  std::vector<std::string_view> pieces;
  im.splitAdded(valid, /*normalizedPass=*/false, parseSpecial, raw);
  for (const auto &[rawPiece, rawId] : raw) {
    if (rawId >= 0) {
      ids.push_back(rawId);
      continue;
    }
    std::string normalized = im.normalize(rawPiece);
    split.clear();
    im.splitAdded(normalized, /*normalizedPass=*/true, parseSpecial, split);
    for (const auto &[piece, id] : split) {
      if (id >= 0) {
        ids.push_back(id);
        continue;
      }
      pieces.clear();
      im.preTokenize(piece, pieces);
      for (std::string_view word : pieces) {
        im.bpe(word, ids, cache);
      }
    }
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids,
                              bool skipSpecial) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= size() || (skipSpecial && isSpecial(id))) {
      continue;
    }
    bytes += bytes_[static_cast<size_t>(id)];
  }
  return toValidUtf8(bytes);
}

const std::string &Tokenizer::tokenBytes(int32_t id) const {
  static const std::string empty;
  return id < 0 || id >= size() ? empty : bytes_[static_cast<size_t>(id)];
}

bool Tokenizer::isSpecial(int32_t id) const {
  return id >= 0 && id < size() &&
         impl_->specialById[static_cast<size_t>(id)] != 0;
}

int32_t Tokenizer::find(std::string_view content) const {
  for (const AddedToken &a : impl_->added) {
    if (a.content == content) {
      return a.id;
    }
  }
  auto it = impl_->vocab.find(std::string(content));
  return it == impl_->vocab.end() ? -1 : it->second;
}

} // namespace fd::runtime
