//===- Tokenizer_test.cpp - byte-level BPE, UTF-8 handling, bad input -----===//
//
// The byte-exact comparison with HF `tokenizers` on the real Qwen3.5 files is
// test/tokenizer/compare_hf.py; these cases pin the mechanics on a small
// tokenizer.json written here.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"
#include "fusedecode/byte_level.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using fd::runtime::StreamDecoder;
using fd::runtime::Tokenizer;
using fd::runtime::toValidUtf8;
using json = nlohmann::json;

namespace {

/// The byte alphabet's character for byte b, as UTF-8.
std::string mapped(int b) {
  uint32_t cp = fd_byte_level_code_point(static_cast<uint8_t>(b));
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | cp >> 6);
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

/// Bytes 0..255 are ids 0..255; merges make "he"=256, "ll"=257, "hell"=258,
/// "hello"=259, " w"=260; added tokens <|end|>=300 (special) and
/// <tool>=301 (not special).
json smallTokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) {
    vocab[mapped(b)] = b;
  }
  std::string sp = mapped(' ');
  vocab["he"] = 256;
  vocab["ll"] = 257;
  vocab["hell"] = 258;
  vocab["hello"] = 259;
  vocab[sp + "w"] = 260;
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 300}, {"content", "<|end|>"}, {"special", true}},
        {{"id", 301}, {"content", "<tool>"}, {"special", false}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern",
            {{"Regex", R"( ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"},
           {"add_prefix_space", false},
           {"use_regex", false}}}}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        // "l l" ranks before "h e": the order of merges, not of the text.
        {"merges", json::array({"l l", "h e", json::array({"he", "ll"}),
                                "hell o", sp + " w"})}}},
  };
}

Tokenizer load(const json &j) {
  Tokenizer t;
  fd_error_t err = Tokenizer::load(j.dump(), "tokenizer.json", t);
  EXPECT_EQ(err, nullptr) << fd_error_message(err);
  fd_error_free(err);
  return t;
}

std::string loadError(const json &j) {
  Tokenizer t;
  fd_error_t err = Tokenizer::load(j.dump(), "tokenizer.json", t);
  std::string msg = err ? fd_error_message(err) : "";
  fd_error_free(err);
  return msg;
}

using Ids = std::vector<int32_t>;

} // namespace

TEST(Tokenizer, MergesByRankAndSplitsWords) {
  Tokenizer t = load(smallTokenizer());
  EXPECT_EQ(t.encode("hello"), (Ids{259}));
  // " world" is one pre-token; " w" merges, the rest are bytes.
  EXPECT_EQ(t.encode("hello world"), (Ids{259, 260, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(t.encode("hell"), (Ids{258}));
  EXPECT_EQ(t.encode("12"), (Ids{'1', '2'}));
  EXPECT_EQ(t.decode(t.encode("hello world")), "hello world");
}

TEST(Tokenizer, AddedTokensSplitFirst) {
  Tokenizer t = load(smallTokenizer());
  EXPECT_EQ(t.encode("hello<|end|>hello"), (Ids{259, 300, 259}));
  EXPECT_EQ(t.encode("<tool>x"), (Ids{301, 'x'}));
  // Special tokens as text: only the special one stops being split out.
  Ids plain = t.encode("<|end|><tool>", /*parseSpecial=*/false);
  EXPECT_EQ(plain.back(), 301);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 300), 0);
  EXPECT_EQ(t.decode({259, 300, 259}), "hello<|end|>hello");
  EXPECT_EQ(t.decode({259, 300, 301}, /*skipSpecial=*/true), "hello<tool>");
  EXPECT_TRUE(t.isSpecial(300));
  EXPECT_FALSE(t.isSpecial(301));
  EXPECT_EQ(t.find("<|end|>"), 300);
  EXPECT_EQ(t.find("hello"), 259);
  EXPECT_EQ(t.find("absent"), -1);
}

TEST(Tokenizer, NormalizesToNfc) {
  Tokenizer t = load(smallTokenizer());
  // e + combining acute composes to U+00E9 before the byte split.
  EXPECT_EQ(t.encode("e\xCC\x81"), t.encode("\xC3\xA9"));
}

TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(toValidUtf8("a\xC3"), "a\xEF\xBF\xBD");
  // E0 needs A0..BF next: E0 alone is the maximal subpart, then 80.
  EXPECT_EQ(toValidUtf8("\xE0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // A truncated 4-byte sequence is one subpart.
  EXPECT_EQ(toValidUtf8("\xF0\x9F\x98!"), "\xEF\xBF\xBD!");
  EXPECT_EQ(toValidUtf8("\xED\xA0\x80"), // a surrogate: three subparts
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(toValidUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  Tokenizer t = load(smallTokenizer());
  EXPECT_EQ(t.encode("\xFF"), t.encode("\xEF\xBF\xBD"));
  // Decoding a lone continuation byte's token gives U+FFFD, like HF.
  EXPECT_EQ(t.decode({0x80}), "\xEF\xBF\xBD");
}

TEST(StreamDecoder, NeverEmitsHalfACharacter) {
  StreamDecoder s;
  EXPECT_EQ(s.push("a\xF0\x9F"), "a");
  EXPECT_EQ(s.push("\x98"), "");
  EXPECT_EQ(s.push("\x80z"), "\xF0\x9F\x98\x80z");
  EXPECT_EQ(s.push("\xC3"), "");
  EXPECT_EQ(s.push("x"), "\xEF\xBF\xBDx"); // the broken sequence, replaced
  EXPECT_EQ(s.push("\xE4\xB8"), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(s.finish(), "");
}

TEST(Tokenizer, BadFilesAreOneLineErrors) {
  EXPECT_EQ(loadError(json::parse("[1]")), "tokenizer.json: not valid JSON");
  {
    Tokenizer t;
    fd_error_t err = Tokenizer::load("{", "tokenizer.json", t);
    EXPECT_STREQ(fd_error_message(err), "tokenizer.json: not valid JSON");
    fd_error_free(err);
  }
  json j = smallTokenizer();
  j["model"]["type"] = "WordPiece";
  EXPECT_EQ(loadError(j),
            "tokenizer.json: model.type 'WordPiece' is not supported (BPE)");
  j = smallTokenizer();
  j["model"]["merges"].push_back("q zz");
  EXPECT_EQ(loadError(j),
            "tokenizer.json: model.merges[5]: 'zz' is not in the vocabulary");
  j = smallTokenizer();
  j["model"]["merges"].push_back("nospace");
  EXPECT_EQ(loadError(j),
            "tokenizer.json: model.merges[5]: 'nospace' is not two tokens");
  j = smallTokenizer();
  j["model"].erase("vocab");
  EXPECT_NE(loadError(j).find("tokenizer.json: model.vocab: "),
            std::string::npos);
  j = smallTokenizer();
  j["model"]["byte_fallback"] = true;
  EXPECT_EQ(loadError(j),
            "tokenizer.json: model.byte_fallback is not supported");
  j = smallTokenizer();
  j["added_tokens"][0]["single_word"] = true;
  EXPECT_EQ(loadError(j), "tokenizer.json: added_tokens: '<|end|>': "
                          "single_word is not supported");
  j = smallTokenizer();
  j["decoder"] = nullptr;
  EXPECT_EQ(loadError(j),
            "tokenizer.json: decoder: only ByteLevel is supported");
  j = smallTokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L}";
  EXPECT_NE(loadError(j).find("tokenizer.json: pre_tokenizer Split: cannot "
                              "compile the pattern at offset"),
            std::string::npos);
  j = smallTokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithNext";
  EXPECT_EQ(loadError(j), "tokenizer.json: pre_tokenizer Split behavior "
                          "'MergedWithNext' is not supported (Isolated, "
                          "Removed)");
  j = smallTokenizer();
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_EQ(loadError(j),
            "tokenizer.json: normalizer type 'Lowercase' is not supported");
  j = smallTokenizer();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}};
  EXPECT_EQ(loadError(j), "tokenizer.json: pre_tokenizer ByteLevel "
                          "add_prefix_space: true is not supported");
  j = smallTokenizer();
  j["model"]["vocab"]["bad"] = -3;
  EXPECT_EQ(loadError(j), "tokenizer.json: model.vocab: token 'bad' has id -3 "
                          "(expected 0 to 4194303)");
  // Found by fuzzing: a float id (undefined behaviour to convert) and an
  // id that would size the tables at gigabytes.
  j = smallTokenizer();
  j["model"]["vocab"]["bad"] = 2.5e58;
  EXPECT_EQ(loadError(j), "tokenizer.json: model.vocab: token 'bad' has id "
                          "2.5e+58 (expected 0 to 4194303)");
  j = smallTokenizer();
  j["added_tokens"][0]["id"] = 2147483646;
  EXPECT_EQ(loadError(j), "tokenizer.json: added_tokens: '<|end|>' has id "
                          "2147483646 (expected 0 to 4194303)");
}

TEST(Tokenizer, ByteLevelWithItsOwnRegex) {
  json j = smallTokenizer();
  j["pre_tokenizer"] = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  Tokenizer t = load(j);
  EXPECT_EQ(t.encode("hello world"), (Ids{259, 260, 'o', 'r', 'l', 'd'}));
}
