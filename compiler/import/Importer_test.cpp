//===- Importer_test.cpp - checkpoint import tests ------------------------===//
//
// Good checkpoints of every supported family, layout and quantization import
// into a verified graph of the right shape; every kind of bad input gives a
// one-line error naming the file and the tensor or field, through the library
// and through the compile-model CLI (exit status 1, nothing on stdout).
//
//===----------------------------------------------------------------------===//

#include "compiler/import/Importer.h"
#include "compiler/import/ModelConfig.h"
#include "dialects/FDGraph/IR/FDGraphOps.h"

#include "test/support/TestCheckpoint.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

using namespace fd;
using synth::QuantKind;
namespace fs = std::filesystem;
namespace fdg = fd::fdgraph;

namespace {

struct Counts {
  int gdn = 0, attention = 0, moe = 0, linear = 0, weights = 0, quantized = 0;
};

Counts countOps(mlir::ModuleOp m) {
  Counts c;
  m.walk([&](mlir::Operation *op) {
    c.gdn += mlir::isa<fdg::GatedDeltaNetOp>(op);
    c.attention += mlir::isa<fdg::GatedAttentionOp>(op);
    c.moe += mlir::isa<fdg::MoEOp>(op);
    c.linear += mlir::isa<fdg::LinearOp>(op);
    if (auto w = mlir::dyn_cast<fdg::WeightOp>(op)) {
      ++c.weights;
      c.quantized += w.getQuant().has_value();
    }
  });
  return c;
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
import(mlir::MLIRContext &ctx, const std::string &dir) {
  return import::importCheckpoint(ctx, dir);
}

mlir::MLIRContext &context() {
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    import::registerImportDialects(r);
    return r;
  }();
  static mlir::MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false);
  return ctx;
}

struct GoodCase {
  const char *name;
  const char *preset;
  QuantKind quant;
  synth::Layout layout;
  synth::ExpertLayout experts;
};

class GoodCheckpoint : public testing::TestWithParam<GoodCase> {};

TEST_P(GoodCheckpoint, ImportsAndVerifies) {
  const GoodCase &g = GetParam();
  synth::SynthOptions o;
  o.shape = *(synth::preset(g.preset));
  o.quant = g.quant;
  o.layout = g.layout;
  o.experts = g.experts;
  std::string dir = test::freshDir("ckpt");
  ASSERT_EQ(synth::writeCheckpoint(o, dir), "");
  auto module = import(context(), dir);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  Counts c = countOps(**module);
  bool qwen35 = o.shape.family == import::Family::Qwen35Moe;
  int64_t attn =
      qwen35 ? o.shape.layers / o.shape.fullAttentionInterval : o.shape.layers;
  EXPECT_EQ(c.attention, attn);
  EXPECT_EQ(c.gdn, o.shape.layers - attn);
  EXPECT_EQ(c.moe, o.shape.layers);
  // 4 projections per attention layer, 5 per GDN layer.
  EXPECT_EQ(c.linear, 4 * attn + 5 * (o.shape.layers - attn));
  if (g.quant == QuantKind::BF16) {
    EXPECT_EQ(c.quantized, 0);
  } else {
    // Quantized: q/k/v/o, in_proj_qkv/z/out_proj and the three expert groups.
    EXPECT_EQ(c.quantized,
              4 * attn + 3 * (o.shape.layers - attn) + 3 * o.shape.layers);
  }

  auto model = (*module)->getOperation()->getAttrOfType<mlir::DictionaryAttr>(
      "fdgraph.model");
  ASSERT_TRUE(model);
  EXPECT_EQ(model.getAs<mlir::IntegerAttr>("hidden_size").getInt(),
            o.shape.hidden);
  int64_t mtp = model.getAs<mlir::IntegerAttr>("skipped_mtp_tensors").getInt();
  int64_t vision =
      model.getAs<mlir::IntegerAttr>("skipped_vision_tensors").getInt();
  EXPECT_EQ(mtp > 0, qwen35);
  EXPECT_EQ(vision > 0, qwen35 && g.layout == synth::Layout::Multimodal);
}

INSTANTIATE_TEST_SUITE_P(
    Import, GoodCheckpoint,
    testing::Values(
        GoodCase{"AutoRound", "tiny", QuantKind::AutoRoundInt4,
                 synth::Layout::Multimodal, synth::ExpertLayout::PerExpert},
        GoodCase{"GptqSym", "tiny", QuantKind::GptqInt4,
                 synth::Layout::Multimodal, synth::ExpertLayout::PerExpert},
        GoodCase{"GptqAsym", "tiny", QuantKind::GptqInt4Asym,
                 synth::Layout::Causal, synth::ExpertLayout::PerExpert},
        GoodCase{"Compressed", "tiny", QuantKind::CompressedW4A16,
                 synth::Layout::Multimodal, synth::ExpertLayout::PerExpert},
        GoodCase{"Bf16", "tiny", QuantKind::BF16, synth::Layout::Causal,
                 synth::ExpertLayout::PerExpert},
        GoodCase{"Bf16FusedExperts", "tiny", QuantKind::BF16,
                 synth::Layout::Multimodal, synth::ExpertLayout::Fused},
        GoodCase{"Qwen3MoeAutoRound", "tiny-qwen3-moe",
                 QuantKind::AutoRoundInt4, synth::Layout::Causal,
                 synth::ExpertLayout::PerExpert},
        GoodCase{"Qwen3MoeBf16", "tiny-qwen3-moe", QuantKind::BF16,
                 synth::Layout::Causal, synth::ExpertLayout::PerExpert}),
    [](const testing::TestParamInfo<GoodCase> &i) { return i.param.name; });

TEST(Import, ReadsHyperparametersFromConfig) {
  // Change numbers the 35B model fixes and check they flow into the graph.
  test::TestCheckpoint c = test::TestCheckpoint::tiny();
  auto &text = c.config["text_config"];
  text["rope_parameters"]["rope_theta"] = 12345.0;
  text["rms_norm_eps"] = 1e-5;
  text["layer_types"] = {"full_attention", "linear_attention",
                         "linear_attention", "full_attention"};
  // Layers 0 and 3 attend, so their tensors must be the attention ones:
  // rebuild the plan from a shape whose interval makes 0 an attention layer.
  c.opts.shape.fullAttentionInterval = 1;
  std::vector<synth::TensorPlan> attentionPlan = synth::planTensors(c.opts);
  c.opts.shape.fullAttentionInterval = 4;
  std::vector<synth::TensorPlan> merged;
  for (const synth::TensorPlan &t : attentionPlan) {
    if (t.name.find("layers.0.") != std::string::npos &&
        t.name.rfind("mtp.", 0) != 0) {
      merged.push_back(t);
    }
  }
  for (const synth::TensorPlan &t : c.plan) {
    if (t.name.find("layers.0.") == std::string::npos ||
        t.name.rfind("mtp.", 0) == 0) {
      merged.push_back(t);
    }
  }
  c.plan = merged;
  // The quantization exceptions named layer 0's GDN b/a projections.
  auto &extra = c.config["quantization_config"]["extra_config"];
  extra.erase("model.language_model.layers.0.linear_attn.in_proj_a");
  extra.erase("model.language_model.layers.0.linear_attn.in_proj_b");
  std::string dir = test::freshDir("ckpt");
  c.write(dir);
  auto module = import(context(), dir);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  std::vector<fdg::GatedAttentionOp> attn;
  (**module).walk([&](fdg::GatedAttentionOp op) { attn.push_back(op); });
  ASSERT_EQ(attn.size(), 2u);
  EXPECT_EQ(attn[0].getLayer(), 0u);
  EXPECT_EQ(attn[1].getLayer(), 3u);
  EXPECT_DOUBLE_EQ(attn[0].getRopeTheta().convertToDouble(), 12345.0);
  EXPECT_DOUBLE_EQ(attn[0].getNormEps().convertToDouble(), 1e-5);
  EXPECT_EQ(attn[0].getRotaryDim(), 8u); // 0.25 x head_dim 32
  EXPECT_TRUE(attn[0].getOutputGate());
}

TEST(Import, TiedEmbeddingsServeAsHead) {
  test::TestCheckpoint c = test::TestCheckpoint::tiny();
  c.config["tie_word_embeddings"] = true;
  c.remove("lm_head.weight");
  std::string dir = test::freshDir("ckpt");
  c.write(dir);
  auto module = import(context(), dir);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  int heads = 0;
  (**module).walk([&](fdg::LMHeadOp op) {
    ++heads;
    EXPECT_EQ(op.getWeight(), "embed_tokens");
  });
  EXPECT_EQ(heads, 1);
}

TEST(Import, LocationsNameTensorsAndFields) {
  std::string dir = test::freshDir("ckpt");
  test::TestCheckpoint::tiny().write(dir);
  auto module = import(context(), dir);
  ASSERT_TRUE(static_cast<bool>(module));
  bool sawTensorLoc = false, sawFieldLoc = false;
  (**module).walk([&](mlir::Operation *op) {
    std::string s;
    llvm::raw_string_ostream os(s);
    op->getLoc().print(os);
    if (mlir::isa<fdg::WeightOp>(op) &&
        s.find("model.language_model.layers.") != std::string::npos &&
        s.find(".safetensors") != std::string::npos) {
      sawTensorLoc = true;
    }
    if (mlir::isa<fdg::GatedDeltaNetOp>(op) &&
        s.find("text_config.layer_types[0]") != std::string::npos &&
        s.find("config.json") != std::string::npos) {
      sawFieldLoc = true;
    }
  });
  EXPECT_TRUE(sawTensorLoc);
  EXPECT_TRUE(sawFieldLoc);
}

//===----------------------------------------------------------------------===//
// Bad input
//===----------------------------------------------------------------------===//

struct BadCase {
  const char *name;
  /// Changes the checkpoint before it is written.
  std::function<void(test::TestCheckpoint &)> edit;
  /// Changes the written files; gets the directory and shard names.
  std::function<void(const std::string &, const std::vector<std::string> &)>
      corrupt;
  /// The file the message must name (relative to the checkpoint directory).
  const char *file;
  /// The rest the message must contain (tensor or field, and the problem).
  const char *expect;
};

const std::string kP = "model.language_model.";

struct CliResult {
  int status = -1;
  std::string out, err;
};

CliResult runCli(const std::string &dir) {
  std::string errPath = dir + ".stderr";
  std::string cmd =
      std::string(FD_COMPILE_MODEL) + " '" + dir + "' 2>'" + errPath + "'";
  CliResult r;
  std::FILE *p = ::popen(cmd.c_str(), "r");
  if (!p) {
    return r;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
    r.out.append(buf.data(), n);
  }
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.err = test::readFile(errPath);
  return r;
}

void PrintTo(const BadCase &c, std::ostream *os) { *os << c.name; }
void PrintTo(const GoodCase &c, std::ostream *os) { *os << c.name; }

class BadInput : public testing::TestWithParam<BadCase> {};

TEST_P(BadInput, OneLineErrorNamingFileAndItem) {
  const BadCase &b = GetParam();
  test::TestCheckpoint c = test::TestCheckpoint::tiny();
  if (b.edit) {
    b.edit(c);
  }
  std::string dir = test::freshDir("ckpt");
  std::vector<std::string> shards = c.write(dir);
  if (b.corrupt) {
    b.corrupt(dir, shards);
  }
  // "shardN" is the N-th shard; "shard" any shard (where a tensor lands).
  std::string file = std::string(b.file);
  if (file.rfind("shard", 0) == 0) {
    file =
        file == "shard" ? "model-" : shards[std::stoi(file.substr(5))] + ": ";
  } else {
    file += ": ";
  }
  std::string where = (fs::path(dir) / file).string();

  auto module = import(context(), dir);
  ASSERT_FALSE(static_cast<bool>(module)) << "import unexpectedly succeeded";
  std::string msg = llvm::toString(module.takeError());
  EXPECT_EQ(msg.rfind(where, 0), 0u) << msg;
  EXPECT_NE(msg.find(b.expect), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  CliResult r = runCli(dir);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err, "compile-model: error: " + msg + "\n");
}

void setText(test::TestCheckpoint &c, const std::string &key,
             nlohmann::ordered_json v) {
  c.config["text_config"][key] = std::move(v);
}

INSTANTIATE_TEST_SUITE_P(
    Import, BadInput,
    testing::Values(
        // config.json
        BadCase{"MissingConfig", nullptr,
                [](const std::string &d, auto &) {
                  fs::remove(fs::path(d) / "config.json");
                },
                "config.json", "cannot open"},
        BadCase{"MalformedConfig", nullptr,
                [](const std::string &d, auto &) {
                  test::writeFile((fs::path(d) / "config.json").string(),
                                  "{\"a\": [1,");
                },
                "config.json", "malformed JSON"},
        BadCase{
            "UnknownArchitecture",
            [](auto &c) { c.config["architectures"] = {"LlamaForCausalLM"}; },
            nullptr, "config.json",
            "architectures: unsupported model 'LlamaForCausalLM'"},
        BadCase{"ModelTypeMismatch",
                [](auto &c) { c.config["model_type"] = "llama"; }, nullptr,
                "config.json", "model_type: 'llama' does not match"},
        BadCase{"MissingField",
                [](auto &c) { c.config["text_config"].erase("num_experts"); },
                nullptr, "config.json",
                "text_config.num_experts: missing field"},
        BadCase{"MissingTextConfig",
                [](auto &c) { c.config.erase("text_config"); }, nullptr,
                "config.json", "text_config: missing field"},
        BadCase{"WrongFieldType",
                [](auto &c) { setText(c, "hidden_size", "64"); }, nullptr,
                "config.json",
                "text_config.hidden_size: expected an integer, got \"64\""},
        BadCase{"NonPositive", [](auto &c) { setText(c, "head_dim", 0); },
                nullptr, "config.json",
                "text_config.head_dim: expected a positive integer"},
        BadCase{"UnknownLayerType",
                [](auto &c) {
                  c.config["text_config"]["layer_types"][2] =
                      "sliding_attention";
                },
                nullptr, "config.json",
                "text_config.layer_types[2]: unknown layer type "
                "'sliding_attention'"},
        BadCase{
            "LayerTypesLength",
            [](auto &c) { c.config["text_config"]["layer_types"].erase(0); },
            nullptr, "config.json",
            "text_config.layer_types: has 3 entries but num_hidden_layers is "
            "4"},
        BadCase{"ImplausibleLayerCount",
                [](auto &c) {
                  c.config["text_config"].erase("layer_types");
                  setText(c, "num_hidden_layers", 1000000000000ll);
                },
                nullptr, "config.json",
                "text_config.num_hidden_layers: implausibly large value"},
        BadCase{"TopKAboveExperts",
                [](auto &c) { setText(c, "num_experts_per_tok", 9); }, nullptr,
                "config.json",
                "text_config.num_experts_per_tok: exceeds num_experts"},
        BadCase{"RopeScaling",
                [](auto &c) { setText(c, "rope_scaling", {{"type", "yarn"}}); },
                nullptr, "config.json",
                "text_config.rope_scaling: RoPE scaling is not supported"},
        BadCase{"UnsupportedActivation",
                [](auto &c) { setText(c, "hidden_act", "gelu"); }, nullptr,
                "config.json",
                "text_config.hidden_act: unsupported activation"},
        // quantization_config
        BadCase{"UnsupportedQuantMethod",
                [](auto &c) {
                  c.config["quantization_config"]["quant_method"] = "awq";
                },
                nullptr, "config.json",
                "quantization_config.quant_method: unsupported quantization "
                "method 'awq'"},
        BadCase{"UnsupportedBits",
                [](auto &c) { c.config["quantization_config"]["bits"] = 3; },
                nullptr, "config.json",
                "quantization_config.bits: unsupported bits 3"},
        BadCase{
            "UnsupportedGroupSize",
            [](auto &c) { c.config["quantization_config"]["group_size"] = 96; },
            nullptr, "config.json",
            "quantization_config.group_size: unsupported group size 96"},
        BadCase{"UnsupportedPacking",
                [](auto &c) {
                  c.config["quantization_config"]["packing_format"] =
                      "auto_round:auto_awq";
                },
                nullptr, "config.json",
                "quantization_config.packing_format: unsupported packing"},
        BadCase{
            "ExtraConfigSaysPlainButPacked",
            [](auto &c) {
              c.config["quantization_config"]["extra_config"]
                      [kP + "layers.1.linear_attn.in_proj_z"] = {{"bits", 16}};
            },
            nullptr, "config.json",
            "quantization_config.extra_config 'model.language_model.layers.1."
            "linear_attn.in_proj_z': says "
            "'model.language_model.layers.1.linear_attn."
            "in_proj_z' is unquantized but the checkpoint stores"},
        BadCase{"ExtraConfigSaysQuantizedButPlain",
                [](auto &c) {
                  c.config["quantization_config"]["extra_config"]
                          [kP + "layers.0.linear_attn.in_proj_a"] = {
                      {"bits", 4}};
                },
                nullptr, "config.json",
                "says 'model.language_model.layers.0.linear_attn.in_proj_a' is "
                "quantized "
                "to 4 bits but the checkpoint stores a plain"},
        BadCase{"PackedWithoutQuantConfig",
                [](auto &c) { c.config.erase("quantization_config"); }, nullptr,
                "config.json", "quantization_config: absent but"},
        BadCase{
            "ConfigGroupSizeDisagreesWithTensors",
            [](auto &c) { c.config["quantization_config"]["group_size"] = 64; },
            nullptr, "shard0",
            "scales': expected shape [1, 128] (N=128, K=64, bits 4, group size "
            "64), "
            "got [2, 128]"},
        // tensors
        BadCase{"MissingTensor",
                [](auto &c) { c.remove(kP + "layers.2.linear_attn.A_log"); },
                nullptr, "model.safetensors.index.json",
                "tensor 'model.language_model.layers.2.linear_attn.A_log': "
                "missing from "
                "the checkpoint"},
        BadCase{"MissingExpertTensor",
                [](auto &c) {
                  c.remove(kP + "layers.1.mlp.experts.5.up_proj.scales");
                },
                nullptr, "model.safetensors.index.json",
                "tensor "
                "'model.language_model.layers.1.mlp.experts.5.up_proj.scales': "
                "missing"},
        BadCase{
            "WrongShape",
            [](auto &c) {
              c.tensor(kP + "layers.3.self_attn.q_norm.weight").shape = {16};
            },
            nullptr, "shard", "q_norm.weight': expected shape [32], got [16]"},
        BadCase{
            "WrongDType",
            [](auto &c) {
              c.tensor(kP + "layers.0.linear_attn.in_proj_qkv.qweight").dtype =
                  import::DType::F32;
            },
            nullptr, "shard",
            "in_proj_qkv.qweight': dtype F32 is not I32 (packed int4/int8)"},
        BadCase{"UnsupportedDType",
                [](auto &c) {
                  c.tensor(kP + "norm.weight").dtype = import::DType::F8_E4M3;
                },
                nullptr, "shard", "norm.weight': unsupported dtype F8_E4M3"},
        BadCase{"UnexpectedTensor",
                [](auto &c) {
                  c.plan.push_back({kP + "layers.0.self_attn.o_proj.bias",
                                    import::DType::BF16,
                                    {64},
                                    synth::Fill::DtBias});
                },
                nullptr, "shard2",
                "tensor 'model.language_model.layers.0.self_attn.o_proj.bias': "
                "unexpected "
                "tensor"},
        // files
        BadCase{"ShardAbsent", nullptr,
                [](const std::string &d, auto &s) {
                  fs::remove(fs::path(d) / s[1]);
                },
                "model.safetensors.index.json",
                "named in the index does not exist"},
        BadCase{"TruncatedShard", nullptr,
                [](const std::string &d, auto &s) {
                  fs::path p = fs::path(d) / s[2];
                  fs::resize_file(p, fs::file_size(p) - 100);
                },
                "shard2", "run past the end"},
        BadCase{"HeaderLengthBeyondFile", nullptr,
                [](const std::string &d, auto &s) {
                  std::string p = (fs::path(d) / s[0]).string();
                  std::string bytes = test::readFile(p);
                  bytes[5] = '\x01';
                  test::writeFile(p, bytes);
                },
                "shard0", "header: header length"},
        BadCase{"MalformedHeader", nullptr,
                [](const std::string &d, auto &s) {
                  std::string p = (fs::path(d) / s[1]).string();
                  std::string bytes = test::readFile(p);
                  bytes[8] = '[';
                  test::writeFile(p, bytes);
                },
                "shard1", "header: malformed header JSON"},
        BadCase{"OverlappingOffsets", nullptr,
                [](const std::string &d, auto &s) {
                  test::rewriteHeader(
                      (fs::path(d) / s[0]).string(), [](nlohmann::json &h) {
                        auto &e = h[kP + "embed_tokens.weight"]["data_offsets"];
                        // Slide the embedding 2 bytes into its neighbour.
                        uint64_t b = e[0].get<uint64_t>() + 2,
                                 en = e[1].get<uint64_t>() + 2;
                        e = {b, en};
                      });
                },
                "shard0", "data overlaps tensor"},
        BadCase{"OffsetsDisagreeWithShape", nullptr,
                [](const std::string &d, auto &s) {
                  test::rewriteHeader(
                      (fs::path(d) / s[0]).string(), [](nlohmann::json &h) {
                        h[kP + "embed_tokens.weight"]["shape"] = {512, 63};
                      });
                },
                "shard0",
                "data offsets span 65536 bytes but shape [512, 63] of BF16 "
                "needs 64512"}),
    [](const testing::TestParamInfo<BadCase> &i) { return i.param.name; });

} // namespace
