//===- PackWeights.cpp - OUT/weights.fdw from a lowered module ------------===//

#include "compiler/codegen/PackWeights.h"

#include "compiler/codegen/Repack.h"
#include "compiler/codegen/WeightFile.h"
#include "compiler/import/FloatBits.h"
#include "compiler/import/Safetensors.h"
#include "compiler/reference/Dequant.h"
#include "dialects/FDGraph/IR/FDGraphOps.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include <xxhash.h>

#include <cstring>

using namespace mlir;
namespace fdg = fd::fdgraph;
namespace fdk = fd::fdkernel;

namespace fd::codegen {

uint64_t hashPlan(const std::string &text) {
  return XXH3_64bits(text.data(), text.size());
}

namespace {

std::string expertName(StringRef pattern, int64_t e) {
  size_t at = pattern.find("{e}");
  if (at == StringRef::npos) {
    return pattern.str();
  }
  return (pattern.substr(0, at) + std::to_string(e) + pattern.substr(at + 3))
      .str();
}

class Packer {
public:
  Packer(ModuleOp module, import::Checkpoint ckpt)
      : module_(module), ckpt_(std::move(ckpt)) {}

  /// Produces the bytes of one weight buffer.
  std::string produce(fdk::BufferOp buffer, std::vector<uint8_t> &out) {
    auto w = SymbolTable::lookupNearestSymbolFrom<fdg::WeightOp>(
        module_, buffer.getWeightAttr());
    if (!w) {
      return buffer.getSymName().str() +
             ": its weight is not an fdgraph.weight";
    }
    StringRef layout = *buffer.getLayout();
    if (layout.starts_with("w4.")) {
      std::string err = repacked(w);
      if (!err.empty()) {
        return err;
      }
      const uint8_t *src;
      size_t bytes;
      if (layout == "w4.qweight") {
        src = reinterpret_cast<const uint8_t *>(w4_.qweight.data());
        bytes = w4_.qweight.size() * 4;
      } else if (layout == "w4.scales") {
        src = reinterpret_cast<const uint8_t *>(w4_.scales.data());
        bytes = w4_.scales.size() * 2;
      } else {
        src = w4_.zeros.data();
        bytes = w4_.zeros.size();
      }
      std::memcpy(out.data(), src, std::min(bytes, out.size()));
      return {};
    }
    if (layout.starts_with("w8.")) {
      return int8Rows(w, layout, out);
    }
    // Plain weights: the storage tensor (one per expert when per-expert).
    auto ref = w.getStorage().getAs<fdg::TensorRefAttr>("weight");
    int64_t experts =
        ref.isPerExpert() ? static_cast<int64_t>(ref.getFiles().size()) : 1;
    size_t at = 0;
    for (int64_t e = 0; e < experts; ++e) {
      std::string name = expertName(ref.getName(), e);
      llvm::Expected<std::vector<char>> bytes = ckpt_.read(name);
      if (!bytes) {
        return llvm::toString(bytes.takeError());
      }
      import::DType dt = ckpt_.find(name)->info->dtype;
      unsigned es = import::dtypeSize(dt);
      for (size_t i = 0; i + es <= bytes->size(); i += es) {
        std::optional<float> v =
            import::loadFloatElement(dt, bytes->data() + i);
        if (!v) {
          return "tensor '" + name + "': expected a float tensor, got " +
                 import::dtypeName(dt);
        }
        if (layout == "f32") {
          std::memcpy(out.data() + at, &*v, 4);
          at += 4;
        } else {
          uint16_t b =
              dt == import::DType::BF16
                  ? *reinterpret_cast<const uint16_t *>(bytes->data() + i)
                  : import::floatToBf16Bits(*v);
          std::memcpy(out.data() + at, &b, 2);
          at += 2;
        }
      }
    }
    return {};
  }

private:
  /// The int8 lm_head (fd-quantize-lm-head): the bf16 weight quantized once
  /// with the group its scales' layout names ("w8.scales.g32"), then codes
  /// or scales copied out.
  std::string int8Rows(fdg::WeightOp w, StringRef layout,
                       std::vector<uint8_t> &out) {
    ArrayRef<int64_t> shape = w.getTensorType().getShape();
    const int64_t n = shape.front(), k = shape.back();
    if (layout.starts_with("w8.scales.g")) {
      int64_t group = 0;
      if (layout.drop_front(11).getAsInteger(10, group) || group <= 0 ||
          k % group) {
        return "layout '" + layout.str() +
               "': bad group for K=" + std::to_string(k);
      }
      w8Group_ = group;
    } else if (layout != "w8.qweight") {
      return "unknown weight layout '" + layout.str() + "'";
    }
    // Codes come first in the plan; their group is the scales' (looked up).
    if (layout == "w8.qweight") {
      w8Group_ = 0;
      module_.walk([&](fdk::BufferOp b) {
        if (b.getWeight() == w.getSymName() && b.getLayout() &&
            b.getLayout()->starts_with("w8.scales.g")) {
          b.getLayout()->drop_front(11).getAsInteger(10, w8Group_);
        }
      });
      if (w8Group_ <= 0) {
        return w.getSymName().str() + ": int8 codes without a scales buffer";
      }
    }
    if (w8Sym_ != w.getSymName() ||
        w8Quant_.scales.size() != static_cast<size_t>(n * (k / w8Group_))) {
      auto ref = w.getStorage().getAs<fdg::TensorRefAttr>("weight");
      llvm::Expected<std::vector<char>> bytes = ckpt_.read(ref.getName());
      if (!bytes) {
        return llvm::toString(bytes.takeError());
      }
      import::DType dt = ckpt_.find(ref.getName())->info->dtype;
      const unsigned es = import::dtypeSize(dt);
      if (bytes->size() != static_cast<size_t>(n * k) * es) {
        return "tensor '" + ref.getName().str() + "': expected " +
               std::to_string(n) + " x " + std::to_string(k) + " values";
      }
      std::vector<float> values(static_cast<size_t>(n * k));
      for (size_t i = 0; i < values.size(); ++i) {
        std::optional<float> v =
            import::loadFloatElement(dt, bytes->data() + i * es);
        if (!v) {
          return "tensor '" + ref.getName().str() +
                 "': expected a float tensor, got " + import::dtypeName(dt);
        }
        values[i] = *v;
      }
      w8Quant_ = reference::quantizeInt8Rows(values.data(), n, k, w8Group_);
      w8Sym_ = w.getSymName().str();
    }
    const uint8_t *src =
        layout == "w8.qweight"
            ? reinterpret_cast<const uint8_t *>(w8Quant_.q.data())
            : reinterpret_cast<const uint8_t *>(w8Quant_.scales.data());
    const size_t bytes =
        layout == "w8.qweight" ? w8Quant_.q.size() : w8Quant_.scales.size() * 2;
    std::memcpy(out.data(), src, std::min(bytes, out.size()));
    return {};
  }

  /// Repacks `w` (all experts) once; the three w4 buffers of a weight come
  /// one after another.
  std::string repacked(fdg::WeightOp w) {
    if (w.getSymName() == w4Sym_) {
      return {};
    }
    fdg::QuantAttr q = *w.getQuant();
    ArrayRef<int64_t> shape = w.getTensorType().getShape();
    int64_t n = shape[shape.size() - 2], k = shape.back();
    DictionaryAttr storage = w.getStorage();
    bool ct = q.getScheme() == fdg::QuantScheme::compressed_tensors;
    auto first = llvm::cast<fdg::TensorRefAttr>(storage.begin()->getValue());
    int64_t experts =
        first.isPerExpert() ? static_cast<int64_t>(first.getFiles().size()) : 1;
    W4RowMajor all;
    auto readInts = [&](StringRef key, int64_t e,
                        std::vector<int32_t> &v) -> std::string {
      auto ref = storage.getAs<fdg::TensorRefAttr>(key);
      llvm::Expected<std::vector<char>> b =
          ckpt_.read(expertName(ref.getName(), e));
      if (!b) {
        return llvm::toString(b.takeError());
      }
      v.resize(b->size() / 4);
      std::memcpy(v.data(), b->data(), b->size());
      return {};
    };
    for (int64_t e = 0; e < experts; ++e) {
      std::vector<int32_t> packed, zeros;
      std::string err = readInts(ct ? "weight_packed" : "qweight", e, packed);
      if (err.empty() && (ct ? q.getZeroPoints() : true)) {
        err = readInts(ct ? "weight_zero_point" : "qzeros", e, zeros);
      }
      if (!err.empty()) {
        return err;
      }
      auto sref =
          storage.getAs<fdg::TensorRefAttr>(ct ? "weight_scale" : "scales");
      std::string sname = expertName(sref.getName(), e);
      llvm::Expected<std::vector<char>> sb = ckpt_.read(sname);
      if (!sb) {
        return llvm::toString(sb.takeError());
      }
      import::DType sdt = ckpt_.find(sname)->info->dtype;
      std::vector<uint16_t> scales(sb->size() / import::dtypeSize(sdt));
      for (size_t i = 0; i < scales.size(); ++i) {
        std::optional<float> v = import::loadFloatElement(
            sdt, sb->data() + i * import::dtypeSize(sdt));
        if (!v) {
          return "tensor '" + sname + "': expected float scales, got " +
                 import::dtypeName(sdt);
        }
        scales[i] =
            sdt == import::DType::F16
                ? *reinterpret_cast<const uint16_t *>(sb->data() + 2 * i)
                : import::floatToHalfBits(*v);
      }
      W4RowMajor one =
          ct ? repackCompressed4(packed.data(),
                                 zeros.empty() ? nullptr : zeros.data(),
                                 scales.data(), n, k, q.getGroupSize())
             : repackGptq4(packed.data(), zeros.data(), scales.data(), n, k,
                           q.getGroupSize());
      all.n = one.n;
      all.k = one.k;
      all.group = one.group;
      all.qweight.insert(all.qweight.end(), one.qweight.begin(),
                         one.qweight.end());
      all.scales.insert(all.scales.end(), one.scales.begin(), one.scales.end());
      if (!q.getSymmetric()) {
        // Zero points stay even where one expert's happen to be all 8.
        if (one.zeros.empty()) {
          one.zeros.assign(one.scales.size(), 8);
        }
        all.zeros.insert(all.zeros.end(), one.zeros.begin(), one.zeros.end());
      }
    }
    w4_ = std::move(all);
    w4Sym_ = w.getSymName().str();
    return {};
  }

  ModuleOp module_;
  import::Checkpoint ckpt_;
  std::string w4Sym_;
  W4RowMajor w4_;
  std::string w8Sym_;
  int64_t w8Group_ = 0;
  reference::Int8Rows w8Quant_;
};

} // namespace

llvm::Error packWeights(ModuleOp module, const std::string &checkpointDir,
                        const std::string &outPath, uint64_t planHash) {
  llvm::Expected<import::Checkpoint> ckpt =
      import::Checkpoint::open(checkpointDir);
  if (!ckpt) {
    return ckpt.takeError();
  }
  std::vector<fdk::BufferOp> buffers;
  std::vector<PackedTensor> tensors;
  module.walk([&](fdk::BufferOp b) {
    if (b.getKind() != fdk::BufferKind::weight) {
      return;
    }
    FdwDType dt = fdw_dtype_for_layout(b.getLayout()->str().c_str());
    buffers.push_back(b);
    tensors.push_back(PackedTensor{b.getSymName().str(), dt, {}, b.getSize()});
  });
  Packer packer(module, std::move(*ckpt));
  std::string err = writeWeightFile(outPath, planHash, tensors,
                                    [&](size_t i, std::vector<uint8_t> &out) {
                                      return packer.produce(buffers[i], out);
                                    });
  if (!err.empty()) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), err);
  }
  return llvm::Error::success();
}

} // namespace fd::codegen
