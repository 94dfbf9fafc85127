//===- fd-tokenize.cpp - the runtime's tokenizer on the command line ------===//
//
//   fd-tokenize tokenizer.json "text"            ids, comma-separated
//   fd-tokenize tokenizer.json --decode 1,2,3    text
//   fd-tokenize tokenizer.json --batch-encode in.json   [[ids], ...]
//   fd-tokenize tokenizer.json --batch-decode in.json   [{"text", "stream"}]
//   fd-tokenize tokenizer.json --time file.txt   encode speed
//
// The batch forms are what test/tokenizer/compare_hf.py drives against HF
// `tokenizers`; "stream" is the same ids through StreamDecoder, one token at
// a time, which must equal "text".
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

using fd::runtime::StreamDecoder;
using fd::runtime::Tokenizer;

namespace {

int fail(const std::string &msg) {
  std::fprintf(stderr, "fd-tokenize: error: %s\n", msg.c_str());
  return 1;
}

bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Tokenize and detokenize with a tokenizer.json"};
  std::string tokPath, text, decodeIds, batchEncode, batchDecode, timeFile;
  bool noSpecial = false, skipSpecial = false;
  app.add_option("tokenizer", tokPath, "tokenizer.json")->required();
  app.add_option("text", text, "text to encode");
  app.add_option("--decode", decodeIds, "comma-separated ids to decode");
  app.add_option("--batch-encode", batchEncode, "JSON array of strings");
  app.add_option("--batch-decode", batchDecode, "JSON array of id arrays");
  app.add_option("--time", timeFile, "encode this file and report the speed");
  app.add_flag("--no-special", noSpecial,
               "special added tokens in the text are plain text");
  app.add_flag("--skip-special", skipSpecial,
               "decoding leaves special tokens out");
  CLI11_PARSE(app, argc, argv);

  std::string json;
  if (!readFile(tokPath, json)) {
    return fail(tokPath + ": cannot read");
  }
  Tokenizer tok;
  if (fd_error_t err = Tokenizer::load(json, tokPath, tok)) {
    std::string msg = fd_error_message(err);
    fd_error_free(err);
    return fail(msg);
  }
  auto readJson = [](const std::string &path, nlohmann::json &out) {
    std::string data;
    if (!readFile(path, data)) {
      return false;
    }
    out = nlohmann::json::parse(data, nullptr, false);
    return !out.is_discarded() && out.is_array();
  };

  if (!batchEncode.empty()) {
    nlohmann::json in, out = nlohmann::json::array();
    if (!readJson(batchEncode, in)) {
      return fail(batchEncode + ": not a JSON array");
    }
    for (const auto &t : in) {
      if (!t.is_string()) {
        return fail(batchEncode + ": an entry is not a string");
      }
      out.push_back(tok.encode(t.get<std::string>(), !noSpecial));
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (!batchDecode.empty()) {
    nlohmann::json in, out = nlohmann::json::array();
    if (!readJson(batchDecode, in)) {
      return fail(batchDecode + ": not a JSON array");
    }
    for (const auto &row : in) {
      std::vector<int32_t> ids;
      for (const auto &v : row) {
        ids.push_back(v.get<int32_t>());
      }
      StreamDecoder stream;
      std::string streamed;
      for (int32_t id : ids) {
        if (!(skipSpecial && tok.isSpecial(id))) {
          streamed += stream.push(tok.tokenBytes(id));
        }
      }
      streamed += stream.finish();
      out.push_back(
          {{"text", tok.decode(ids, skipSpecial)}, {"stream", streamed}});
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (!timeFile.empty()) {
    std::string data;
    if (!readFile(timeFile, data)) {
      return fail(timeFile + ": cannot read");
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<int32_t> ids = tok.encode(data, !noSpecial);
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    std::printf("%zu bytes -> %zu tokens in %.3f s (%.2f MB/s)\n", data.size(),
                ids.size(), s, data.size() / s / 1e6);
    return 0;
  }
  if (!decodeIds.empty()) {
    std::vector<int32_t> ids;
    std::stringstream ss(decodeIds);
    std::string part;
    while (std::getline(ss, part, ',')) {
      char *end = nullptr;
      long v = std::strtol(part.c_str(), &end, 10);
      if (part.empty() || *end || v < 0 || v >= tok.size()) {
        return fail("--decode: '" + part + "' is not an id below " +
                    std::to_string(tok.size()));
      }
      ids.push_back(static_cast<int32_t>(v));
    }
    std::printf("%s\n", tok.decode(ids, skipSpecial).c_str());
    return 0;
  }
  std::vector<int32_t> ids = tok.encode(text, !noSpecial);
  for (size_t i = 0; i < ids.size(); ++i) {
    std::printf(i ? ",%d" : "%d", ids[i]);
  }
  std::printf("\n");
  return 0;
}
