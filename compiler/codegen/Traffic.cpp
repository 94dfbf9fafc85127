//===- Traffic.cpp - the bytes each launch moves per token ----------------===//

#include "compiler/codegen/Traffic.h"

#include "compiler/codegen/KernelRegistry.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringRef.h"

using namespace mlir;
namespace fdk = fd::fdkernel;

namespace fd::codegen {

std::string weightCategory(const std::string &weight) {
  llvm::StringRef w(weight);
  if (w.contains(".experts.") || w.ends_with(".experts")) {
    return "experts";
  }
  if (w.contains("shared_expert")) {
    return "shared expert";
  }
  if (w.ends_with(".mlp.gate")) {
    return "router";
  }
  if (w.contains("linear_attn") || w.contains("self_attn")) {
    return "mixers";
  }
  if (w == "lm_head" || w == "embed_tokens") {
    return "lm_head"; // read whole only by the head (a tied head)
  }
  if (w.contains("norm")) {
    return "norms";
  }
  return "other";
}

std::vector<TrafficItem> launchTraffic(ModuleOp module, fdk::LaunchOp launch) {
  const TemplateInfo *info = lookupTemplate(launch.getTemplateName().str());
  int64_t maxContext = 1;
  if (auto a = module->getAttrOfType<IntegerAttr>("fdkernel.max_context")) {
    maxContext = std::max<int64_t>(1, a.getInt());
  }
  auto bufferOf = [&](Attribute ref) -> fdk::BufferOp {
    auto sym = cast<FlatSymbolRefAttr>(ref);
    if (sym.getValue() == "__null") {
      return nullptr;
    }
    return dyn_cast_or_null<fdk::BufferOp>(
        SymbolTable::lookupSymbolIn(module, sym.getAttr()));
  };
  // Routed experts read k of E: k is the expert-id buffer's length.
  int64_t topK = 0;
  if (info) {
    size_t in = 0;
    for (const KernelArg &a : info->args) {
      if (a.kind != KernelArg::In) {
        continue;
      }
      if (in >= launch.getIns().size()) {
        break;
      }
      Attribute ref = launch.getIns()[in++];
      if (a.name == "expertIds") {
        if (fdk::BufferOp b = bufferOf(ref)) {
          topK = static_cast<int64_t>(b.getSize()) / 4;
        }
      }
    }
  }
  std::vector<TrafficItem> items;
  auto add = [&](const std::string &category, int64_t bytes,
                 int64_t perPosition) {
    for (TrafficItem &t : items) {
      if (t.category == category) {
        t.bytes += bytes;
        t.perPosition += perPosition;
        return;
      }
    }
    items.push_back({category, bytes, perPosition});
  };
  // A buffer both read and written counts once (read-modify-write below),
  // except a KV cache: written at one position, read at every one
  // (attention_decode with the append folded in does both).
  llvm::SmallPtrSet<Operation *, 16> seen, kvWritten;
  auto visit = [&](Attribute ref, bool written) {
    fdk::BufferOp b = bufferOf(ref);
    if (!b) {
      return;
    }
    const bool kv = b.getKind() == fdk::BufferKind::kv_cache;
    if (!(kv && written ? kvWritten : seen).insert(b).second) {
      return;
    }
    const int64_t size = static_cast<int64_t>(b.getSize());
    switch (b.getKind()) {
    case fdk::BufferKind::weight: {
      std::string weight =
          b.getWeight() ? b.getWeight()->str() : b.getSymName().str();
      std::string category = weightCategory(weight);
      int64_t rows = 0; // dim 0 of the logical weight: experts or vocab
      if (b.getWeight()) {
        if (Operation *w =
                SymbolTable::lookupSymbolIn(module, b.getWeightAttr())) {
          if (auto t = w->getAttrOfType<TypeAttr>("type")) {
            if (auto shaped = dyn_cast<ShapedType>(t.getValue());
                shaped && shaped.getRank() > 0) {
              rows = shaped.getDimSize(0);
            }
          }
        }
      }
      if (launch.getTemplateName() == "embed" && rows > 0) {
        add("embed", size / rows, 0);
      } else if (category == "experts" && topK > 0 && rows > 0) {
        add(category, size * std::min(topK, rows) / rows, 0);
      } else {
        add(category, size, 0);
      }
      break;
    }
    case fdk::BufferKind::state:
      add("state", 2 * size, 0);
      break;
    case fdk::BufferKind::kv_cache:
      if (written) {
        add("KV", size / maxContext, 0);
      } else {
        add("KV", 0, size / maxContext);
      }
      break;
    default: // activations: cache-resident, not counted
      break;
    }
  };
  for (Attribute ref : launch.getOuts()) {
    visit(ref, true);
  }
  for (Attribute ref : launch.getIns()) {
    visit(ref, false);
  }
  return items;
}

} // namespace fd::codegen
