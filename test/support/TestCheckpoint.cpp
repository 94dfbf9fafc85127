//===- TestCheckpoint.cpp - checkpoints to break, for tests ---------------===//

#include "test/support/TestCheckpoint.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace fd::test {

TestCheckpoint TestCheckpoint::tiny(synth::QuantKind quant,
                                    const std::string &preset) {
  TestCheckpoint c;
  c.opts.shape = *(synth::preset(preset));
  c.opts.quant = quant;
  c.opts.seed = 7;
  c.plan = synth::planTensors(c.opts);
  c.config = nlohmann::ordered_json::parse(synth::makeConfigJson(c.opts));
  return c;
}

synth::TensorPlan &TestCheckpoint::tensor(const std::string &name) {
  for (synth::TensorPlan &t : plan) {
    if (t.name == name) {
      return t;
    }
  }
  ADD_FAILURE() << "no planned tensor " << name;
  std::abort();
}

void TestCheckpoint::remove(const std::string &name) {
  size_t before = plan.size();
  plan.erase(std::remove_if(
                 plan.begin(), plan.end(),
                 [&](const synth::TensorPlan &t) { return t.name == name; }),
             plan.end());
  EXPECT_EQ(before, plan.size() + 1) << "no planned tensor " << name;
}

std::vector<std::string> TestCheckpoint::write(const std::string &dir) const {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> names;
  size_t per = (plan.size() + shards - 1) / shards;
  nlohmann::json weightMap = nlohmann::json::object();
  for (int s = 0; s < shards; ++s) {
    std::string name = shards == 1
                           ? "model.safetensors"
                           : "model-0000" + std::to_string(s + 1) + "-of-0000" +
                                 std::to_string(shards) + ".safetensors";
    size_t lo = std::min(plan.size(), s * per),
           hi = std::min(plan.size(), lo + per);
    std::vector<synth::TensorPlan> part(plan.begin() + lo, plan.begin() + hi);
    EXPECT_EQ(synth::writeSafetensors((fs::path(dir) / name).string(), part,
                                      opts.seed, /*headerOnly=*/false),
              "");
    for (const synth::TensorPlan &t : part) {
      weightMap[t.name] = name;
    }
    names.push_back(name);
  }
  if (shards > 1) {
    nlohmann::json index = {{"metadata", {{"total_size", 0}}},
                            {"weight_map", weightMap}};
    writeFile((fs::path(dir) / "model.safetensors.index.json").string(),
              index.dump(1));
  }
  writeFile((fs::path(dir) / "config.json").string(), config.dump(2));
  return names;
}

std::string freshDir(const std::string &name) {
  const testing::TestInfo *info =
      testing::UnitTest::GetInstance()->current_test_info();
  std::string unique =
      std::string(info->test_suite_name()) + "." + info->name();
  for (char &c : unique) {
    if (c == '/') {
      c = '_';
    }
  }
  fs::path dir = fs::path(testing::TempDir()) / "fusedecode" / unique / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

void rewriteHeader(const std::string &path,
                   const std::function<void(nlohmann::json &)> &edit) {
  std::string bytes = readFile(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  }
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  edit(header);
  std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(static_cast<uint64_t>(text.size()) >> (8 * i));
  }
  writeFile(path, out + text + bytes.substr(8 + n));
}

} // namespace fd::test
