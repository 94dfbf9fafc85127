//===- WeightFile_test.cpp - weights file: compiler writes, runtime reads -===//

#include "compiler/codegen/WeightFile.h"
#include "fusedecode/weights.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace fd::codegen;

namespace {

struct Owned {
  fd_weights *w = nullptr;
  ~Owned() { fd_weights_close(w); }
};

std::string tempPath(const std::string &name) {
  const testing::TestInfo *info =
      testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(testing::TempDir()) / "fusedecode-fdw" / info->name();
  fs::create_directories(dir);
  return (dir / name).string();
}

/// Opens, expecting an error containing `want`.
std::string openError(const std::string &path, uint64_t plan) {
  fd_weights *w = nullptr;
  fd_error_t e = fd_weights_open(path.c_str(), plan, &w);
  if (!e) {
    fd_weights_close(w);
    return "(opened)";
  }
  std::string msg = fd_error_message(e);
  fd_error_free(e);
  EXPECT_EQ(w, nullptr);
  return msg;
}

std::vector<PackedTensor> sample() {
  return {{"layers.0.attn.qweight", FDW_I32, {8, 64}, 8 * 64 * 4},
          {"norm", FDW_BF16, {64}, 128},
          {"odd", FDW_U8, {3, 5}, 15},
          {"empty", FDW_F32, {0}, 0}};
}

std::string fill(size_t i, std::vector<uint8_t> &out) {
  std::mt19937 rng(static_cast<unsigned>(i) + 1);
  for (auto &b : out) {
    b = static_cast<uint8_t>(rng());
  }
  return {};
}

TEST(WeightFile, RoundTrip) {
  std::string path = tempPath("w.fdw");
  ASSERT_EQ(writeWeightFile(path, 0x1234, sample(), fill), "");
  EXPECT_FALSE(fs::exists(path + ".partial"));
  EXPECT_EQ(fs::file_size(path) % FDW_TENSOR_ALIGN, 0u);
  Owned o;
  fd_error_t e = fd_weights_open(path.c_str(), 0x1234, &o.w);
  ASSERT_EQ(e, nullptr) << fd_error_message(e);
  ASSERT_EQ(fd_weights_count(o.w), 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    const FdwEntry *entry = fd_weights_entry(o.w, i);
    EXPECT_EQ(entry->offset % FDW_TENSOR_ALIGN, 0u);
    EXPECT_EQ(fd_weights_find(o.w, entry->name), static_cast<int64_t>(i));
    std::vector<uint8_t> got(entry->bytes), want(entry->bytes);
    fill(i, want);
    fd_error_t r = fd_weights_read(o.w, i, got.data());
    ASSERT_EQ(r, nullptr) << fd_error_message(r);
    EXPECT_EQ(got, want) << entry->name;
  }
  EXPECT_EQ(fd_weights_entry(o.w, 0)->rank, 2u);
  EXPECT_EQ(fd_weights_entry(o.w, 0)->shape[1], 64);
  EXPECT_EQ(fd_weights_find(o.w, "missing"), -1);
}

TEST(WeightFile, Rejections) {
  std::string path = tempPath("w.fdw");
  ASSERT_EQ(writeWeightFile(path, 7, sample(), fill), "");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto variant = [&](const std::string &name, auto edit) {
    std::string p = tempPath(name);
    std::string b = bytes;
    edit(b);
    std::ofstream(p, std::ios::binary) << b;
    return p;
  };
  EXPECT_NE(openError(path, 8).find("plan hash mismatch"), std::string::npos);
  EXPECT_NE(openError(variant("magic", [](std::string &b) { b[0] = 'X'; }), 7)
                .find("bad magic"),
            std::string::npos);
  EXPECT_NE(openError(variant("version", [](std::string &b) { b[8] = 9; }), 7)
                .find("version 9, this runtime reads version 1"),
            std::string::npos);
  EXPECT_NE(openError(variant("short", [](std::string &b) { b.resize(64); }), 7)
                .find("header: file too short"),
            std::string::npos);
  EXPECT_NE(openError(variant("truncated",
                              [](std::string &b) { b.resize(b.size() - 300); }),
                      7)
                .find("out of the"),
            std::string::npos);
  EXPECT_NE(
      openError(variant("table",
                        [](std::string &b) { b[sizeof(FdwHeader) + 3] ^= 1; }),
                7)
          .find("table: checksum mismatch"),
      std::string::npos);
  EXPECT_NE(openError(tempPath("absent.fdw"), 7).find("cannot open"),
            std::string::npos);

  // A flipped data byte is found when that tensor is read, naming it.
  std::string corrupt = variant("data", [](std::string &b) {
    FdwHeader h;
    std::memcpy(&h, b.data(), sizeof h);
    b[h.data_offset + 5] ^= 0x40;
  });
  Owned o;
  ASSERT_EQ(fd_weights_open(corrupt.c_str(), 7, &o.w), nullptr);
  std::vector<uint8_t> buf(fd_weights_entry(o.w, 0)->bytes);
  fd_error_t e = fd_weights_read(o.w, 0, buf.data());
  ASSERT_NE(e, nullptr);
  EXPECT_NE(std::string(fd_error_message(e))
                .find("tensor 'layers.0.attn.qweight': checksum mismatch"),
            std::string::npos);
  fd_error_free(e);
  buf.resize(fd_weights_entry(o.w, 1)->bytes);
  EXPECT_EQ(fd_weights_read(o.w, 1, buf.data()), nullptr);
}

TEST(WeightFile, WriterErrorsLeaveNoFile) {
  std::string path = tempPath("w.fdw");
  std::vector<PackedTensor> t = sample();
  std::string err =
      writeWeightFile(path, 1, t, [](size_t i, std::vector<uint8_t> &out) {
        return i == 2 ? std::string("source tensor unreadable") : fill(i, out);
      });
  EXPECT_EQ(err, "source tensor unreadable");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));
  t[1].name = std::string(200, 'n');
  EXPECT_NE(writeWeightFile(path, 1, t, fill).find("name longer than 95 bytes"),
            std::string::npos);
  EXPECT_NE(writeWeightFile(path, 1, sample(),
                            [](size_t, std::vector<uint8_t> &out) {
                              out.resize(3);
                              return std::string();
                            })
                .find("produced 3 bytes, declared 2048"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path));
}

} // namespace
