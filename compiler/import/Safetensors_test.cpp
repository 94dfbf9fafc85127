//===- Safetensors_test.cpp - safetensors header reader tests -------------===//

#include "compiler/import/Safetensors.h"
#include "compiler/import/FloatBits.h"

#include "test/support/TestCheckpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

using namespace fd;
using namespace fd::import;
namespace fs = std::filesystem;

namespace {

template <typename T> std::string errorOf(llvm::Expected<T> &v) {
  EXPECT_FALSE(static_cast<bool>(v)) << "expected an error";
  return v ? std::string() : llvm::toString(v.takeError());
}

/// A one-shard checkpoint of three small tensors.
std::string writeSmall(const std::string &dir) {
  std::vector<synth::TensorPlan> plan = {
      {"a", DType::BF16, {4, 8}, synth::Fill::Linear},
      {"b", DType::I32, {2, 3}, synth::Fill::PackedInt},
      {"c", DType::F32, {5}, synth::Fill::NormOne},
  };
  std::string path = (fs::path(dir) / "model.safetensors").string();
  EXPECT_EQ(synth::writeSafetensors(path, plan, 1, false), "");
  return path;
}

TEST(Safetensors, ReadsEveryEntry) {
  std::string dir = test::freshDir("ckpt");
  std::string path = writeSmall(dir);
  llvm::Expected<Shard> shard = readSafetensorsHeader(dir, "model.safetensors");
  ASSERT_TRUE(static_cast<bool>(shard)) << llvm::toString(shard.takeError());
  ASSERT_EQ(shard->tensors.size(), 3u);
  EXPECT_EQ(shard->fileSize, fs::file_size(path));
  EXPECT_EQ(shard->dataStart % 8, 0u) << "writer pads the header to 8 bytes";
  uint64_t end = 0;
  for (const TensorInfo &t : shard->tensors) {
    EXPECT_EQ(t.end - t.begin,
              static_cast<uint64_t>(t.numElements()) * dtypeSize(t.dtype));
    end = std::max(end, t.end);
  }
  EXPECT_EQ(end, shard->fileSize);
  llvm::Expected<Checkpoint> ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(static_cast<bool>(ckpt)) << llvm::toString(ckpt.takeError());
  ASSERT_TRUE(ckpt->find("b").has_value());
  EXPECT_EQ(ckpt->find("b")->info->dtype, DType::I32);
  EXPECT_EQ(ckpt->find("b")->info->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_FALSE(ckpt->find("zz").has_value());
}

TEST(Safetensors, DTypeTable) {
  for (const char *n :
       {"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F16",
        "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2"}) {
    std::optional<DType> t = parseDType(n);
    ASSERT_TRUE(t.has_value()) << n;
    EXPECT_STREQ(dtypeName(*t), n);
    EXPECT_GT(dtypeSize(*t), 0u);
  }
  EXPECT_FALSE(parseDType("Q4_K").has_value());
}

TEST(FloatBits, SixteenBitConversions) {
  // Exact values survive both ways; bf16 rounds to nearest, ties to even.
  EXPECT_EQ(fd::import::floatToBf16Bits(1.0f), 0x3F80u);
  EXPECT_EQ(fd::import::bf16BitsToFloat(0xC040u), -3.0f);
  EXPECT_EQ(fd::import::floatToHalfBits(1.0f), 0x3C00u);
  EXPECT_EQ(fd::import::halfBitsToFloat(0xC200u), -3.0f);
  float tieDown, tieUp;
  uint32_t a = 0x3F808000u, b = 0x3F818000u; // halfway cases
  std::memcpy(&tieDown, &a, 4);
  std::memcpy(&tieUp, &b, 4);
  EXPECT_EQ(fd::import::floatToBf16Bits(tieDown), 0x3F80u);
  EXPECT_EQ(fd::import::floatToBf16Bits(tieUp), 0x3F82u);
  EXPECT_EQ(fd::import::floatToBf16Bits(1.0f + 0x1p-7f + 0x1p-9f), 0x3F81u);
}

TEST(FloatBits, ElementsByDType) {
  unsigned char buf[4];
  for (fd::import::DType t : {fd::import::DType::F32, fd::import::DType::BF16,
                              fd::import::DType::F16}) {
    ASSERT_TRUE(fd::import::storeFloatElement(t, -0.75f, buf));
    std::optional<float> v = fd::import::loadFloatElement(t, buf);
    ASSERT_TRUE(v.has_value()) << fd::import::dtypeName(t);
    EXPECT_EQ(*v, -0.75f) << fd::import::dtypeName(t);
  }
  // Integer tensors are not silently read as floats.
  EXPECT_FALSE(fd::import::loadFloatElement(fd::import::DType::I32, buf));
  EXPECT_FALSE(fd::import::storeFloatElement(fd::import::DType::U8, 1.0f, buf));
}

struct HeaderCase {
  const char *name;
  std::function<void(nlohmann::json &)> edit;
  const char *expect;
};

void PrintTo(const HeaderCase &c, std::ostream *os) { *os << c.name; }

class BadHeader : public testing::TestWithParam<HeaderCase> {};

TEST_P(BadHeader, IsRejectedWithOneLine) {
  std::string dir = test::freshDir("ckpt");
  std::string path = writeSmall(dir);
  test::rewriteHeader(path, GetParam().edit);
  llvm::Expected<Shard> shard = readSafetensorsHeader(dir, "model.safetensors");
  std::string msg = errorOf(shard);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find(GetParam().expect), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Safetensors, BadHeader,
    testing::Values(
        HeaderCase{"UnknownDType", [](auto &h) { h["a"]["dtype"] = "Q4"; },
                   "tensor 'a': unknown dtype 'Q4'"},
        HeaderCase{"MissingDType", [](auto &h) { h["a"].erase("dtype"); },
                   "tensor 'a': missing or non-string 'dtype'"},
        HeaderCase{"NegativeDim", [](auto &h) { h["a"]["shape"] = {4, -8}; },
                   "tensor 'a': shape [4,-8] holds a non-integer or negative"},
        HeaderCase{"ShapeNotArray", [](auto &h) { h["a"]["shape"] = 3; },
                   "tensor 'a': missing or non-array 'shape'"},
        HeaderCase{
            "OffsetsMissing", [](auto &h) { h["b"].erase("data_offsets"); },
            "tensor 'b': 'data_offsets' must be two non-negative integers"},
        HeaderCase{"OffsetsReversed",
                   [](auto &h) { h["b"]["data_offsets"] = {70, 64}; },
                   "tensor 'b': data offsets [70, 64) are reversed"},
        HeaderCase{"OffsetsPastEnd",
                   [](auto &h) { h["c"]["data_offsets"] = {88, 10000}; },
                   "tensor 'c': data offsets [88, 10000) run past the end"},
        HeaderCase{
            "OffsetsDisagreeWithShape",
            [](auto &h) { h["b"]["shape"] = {2, 2}; },
            "tensor 'b': data offsets span 24 bytes but shape [2, 2] of I32 "
            "needs 16"},
        HeaderCase{"Overlap",
                   [](auto &h) {
                     h["b"]["data_offsets"] = {40, 64};
                     h["b"]["shape"] = {6};
                   },
                   "data overlaps tensor 'a'"},
        HeaderCase{"Overflow",
                   [](auto &h) { h["a"]["shape"] = {1ll << 40, 1ll << 40}; },
                   "overflows 64 bits"},
        HeaderCase{"EntryNotObject", [](auto &h) { h["a"] = 5; },
                   "tensor 'a': header entry is not an object"},
        HeaderCase{"HeaderNotObject",
                   [](auto &h) { h = nlohmann::json::array(); },
                   "header JSON is not an object"},
        HeaderCase{"MetadataNotObject", [](auto &h) { h["__metadata__"] = 1; },
                   "__metadata__: is not an object"}),
    [](const testing::TestParamInfo<HeaderCase> &i) { return i.param.name; });

TEST(Safetensors, HeaderLengthBeyondFile) {
  std::string dir = test::freshDir("ckpt");
  std::string path = writeSmall(dir);
  std::string bytes = test::readFile(path);
  bytes[0] = '\xff';
  bytes[1] = '\xff';
  bytes[2] = '\xff';
  test::writeFile(path, bytes);
  llvm::Expected<Shard> s = readSafetensorsHeader(dir, "model.safetensors");
  std::string msg = errorOf(s);
  EXPECT_NE(
      msg.find(path + ": header: header length 16777215 runs past the end"),
      std::string::npos)
      << msg;
}

TEST(Safetensors, HeaderLengthAbsurd) {
  std::string dir = test::freshDir("ckpt");
  std::string path = (fs::path(dir) / "model.safetensors").string();
  // A 200 MB length with a file to match would be honoured by a naive reader.
  std::string bytes(8, '\0');
  uint64_t n = 200'000'000;
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(n >> (8 * i));
  }
  test::writeFile(path, bytes);
  fs::resize_file(path, 8 + n);
  llvm::Expected<Shard> s = readSafetensorsHeader(dir, "model.safetensors");
  EXPECT_NE(errorOf(s).find("exceeds the format's 100 MB limit"),
            std::string::npos);
}

TEST(Safetensors, MalformedJson) {
  std::string dir = test::freshDir("ckpt");
  std::string path = writeSmall(dir);
  std::string bytes = test::readFile(path);
  bytes[9] = '#';
  test::writeFile(path, bytes);
  llvm::Expected<Shard> s = readSafetensorsHeader(dir, "model.safetensors");
  EXPECT_EQ(errorOf(s), path + ": header: malformed header JSON");
}

TEST(Safetensors, TooShortAndTruncated) {
  std::string dir = test::freshDir("ckpt");
  std::string path = writeSmall(dir);
  uint64_t size = fs::file_size(path);
  fs::resize_file(path, size - 4);
  llvm::Expected<Shard> s = readSafetensorsHeader(dir, "model.safetensors");
  std::string msg = errorOf(s);
  EXPECT_NE(msg.find("tensor 'c'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated file?"), std::string::npos) << msg;

  fs::resize_file(path, 5);
  llvm::Expected<Shard> s2 = readSafetensorsHeader(dir, "model.safetensors");
  EXPECT_NE(errorOf(s2).find("too short for the 8-byte header length"),
            std::string::npos);
}

TEST(Safetensors, MissingFile) {
  std::string dir = test::freshDir("ckpt");
  llvm::Expected<Shard> s = readSafetensorsHeader(dir, "nope.safetensors");
  EXPECT_NE(errorOf(s).find("nope.safetensors: cannot open"),
            std::string::npos);
}

TEST(Checkpoint, DirectoryProblems) {
  std::string dir = test::freshDir("ckpt");
  llvm::Expected<Checkpoint> empty = Checkpoint::open(dir);
  EXPECT_NE(errorOf(empty).find("no *.safetensors file"), std::string::npos);
  writeSmall(dir);
  fs::copy_file(fs::path(dir) / "model.safetensors",
                fs::path(dir) / "other.safetensors");
  llvm::Expected<Checkpoint> two = Checkpoint::open(dir);
  EXPECT_NE(errorOf(two).find("2 *.safetensors files but no"),
            std::string::npos);
  llvm::Expected<Checkpoint> none = Checkpoint::open(dir + "/missing");
  EXPECT_NE(errorOf(none).find("not a checkpoint directory"),
            std::string::npos);
}

TEST(Checkpoint, IndexProblems) {
  std::string dir = test::freshDir("ckpt");
  test::TestCheckpoint c = test::TestCheckpoint::tiny();
  std::vector<std::string> shards = c.write(dir);
  std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
  ASSERT_TRUE(static_cast<bool>(Checkpoint::open(dir)));

  // A shard named by the index is absent.
  fs::rename(fs::path(dir) / shards[1], fs::path(dir) / "moved");
  llvm::Expected<Checkpoint> a = Checkpoint::open(dir);
  EXPECT_EQ(errorOf(a), index + ": weight_map: shard '" + shards[1] +
                            "' named in the index does not exist");
  fs::rename(fs::path(dir) / "moved", fs::path(dir) / shards[1]);

  // The index maps a tensor to the wrong shard.
  nlohmann::json idx = nlohmann::json::parse(test::readFile(index));
  std::string t = "model.language_model.embed_tokens.weight";
  ASSERT_EQ(idx["weight_map"][t], shards[0]);
  idx["weight_map"][t] = shards[1];
  test::writeFile(index, idx.dump());
  llvm::Expected<Checkpoint> b = Checkpoint::open(dir);
  EXPECT_NE(
      errorOf(b).find(shards[1] + ": tensor '" + t +
                      "': named in the index but not stored in this shard"),
      std::string::npos);

  // A tensor of a shard missing from the index.
  idx["weight_map"].erase(t);
  test::writeFile(index, idx.dump());
  llvm::Expected<Checkpoint> c2 = Checkpoint::open(dir);
  EXPECT_NE(errorOf(c2).find("tensor '" + t +
                             "': stored in the shard but missing "
                             "from the index"),
            std::string::npos);

  // Path traversal and malformed JSON.
  idx["weight_map"][t] = "../etc/passwd";
  test::writeFile(index, idx.dump());
  llvm::Expected<Checkpoint> d = Checkpoint::open(dir);
  EXPECT_NE(errorOf(d).find("is not a file name in the checkpoint directory"),
            std::string::npos);
  test::writeFile(index, "{\"weight_map\": ");
  llvm::Expected<Checkpoint> e = Checkpoint::open(dir);
  EXPECT_EQ(errorOf(e), index + ": malformed JSON");
}

TEST(Checkpoint, DuplicateTensorAcrossShards) {
  std::string dir = test::freshDir("ckpt");
  test::TestCheckpoint c = test::TestCheckpoint::tiny();
  std::vector<std::string> shards = c.write(dir);
  // Copy one of shard 0's tensors into shard 1's header (zero-size, so it
  // overlaps nothing) and keep the index as it is.
  std::string name = "model.language_model.norm.weight";
  test::rewriteHeader(
      (fs::path(dir) / shards[0]).string(), [&](nlohmann::json &h) {
        h[name] = {{"dtype", "BF16"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
      });
  test::rewriteHeader(
      (fs::path(dir) / shards[2]).string(),
      [&](nlohmann::json &h) { ASSERT_TRUE(h.contains(name)); });
  llvm::Expected<Checkpoint> a = Checkpoint::open(dir);
  EXPECT_NE(
      errorOf(a).find("tensor '" + name + "': also stored in " + shards[0]),
      std::string::npos)
      << errorOf(a);
}

} // namespace
