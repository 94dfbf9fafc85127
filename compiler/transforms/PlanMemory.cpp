//===- PlanMemory.cpp - arena offsets by liveness -------------------------===//

#include "compiler/transforms/Passes.h"

#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>

namespace fd::transforms {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "compiler/transforms/Passes.h.inc"
} // namespace fd::transforms

using namespace mlir;
namespace fdk = fd::fdkernel;

namespace {

constexpr int64_t kAlign = 256;

struct Interval {
  fdk::BufferOp op;
  int64_t first = -1, last = -1, size = 0, offset = 0;
};

struct PlanMemoryPass
    : fd::transforms::impl::PlanMemoryPassBase<PlanMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<Interval> arena;
    module.walk([&](fdk::BufferOp b) {
      if (b.getKind() == fdk::BufferKind::arena) {
        arena[b.getSymName()] = Interval{
            b, -1, -1,
            (static_cast<int64_t>(b.getSize()) + kAlign - 1) / kAlign * kAlign};
      }
    });
    int64_t index = 0;
    for (fdk::StepOp step : module.getOps<fdk::StepOp>()) {
      for (fdk::LaunchOp l : step.getBody().getOps<fdk::LaunchOp>()) {
        for (ArrayAttr refs : {l.getIns(), l.getOuts()}) {
          for (auto ref : refs.getAsRange<FlatSymbolRefAttr>()) {
            auto it = arena.find(ref.getValue());
            if (it == arena.end()) {
              continue;
            }
            if (it->second.first < 0) {
              it->second.first = index;
            }
            it->second.last = index;
          }
        }
        ++index;
      }
    }
    std::vector<Interval *> order;
    for (auto &e : arena) {
      order.push_back(&e.second);
    }
    // Largest first, then by name for a deterministic plan.
    std::sort(order.begin(), order.end(), [](Interval *a, Interval *b) {
      if (a->size != b->size) {
        return a->size > b->size;
      }
      return a->op.getSymName() < b->op.getSymName();
    });
    std::vector<Interval *> placed;
    int64_t total = 0;
    for (Interval *iv : order) {
      // Unused buffers still get a place of their own: never alias by accident.
      auto overlaps = [&](Interval *o) {
        if (iv->first < 0 || o->first < 0) {
          return true;
        }
        return !(iv->last < o->first || o->last < iv->first);
      };
      std::vector<std::pair<int64_t, int64_t>> taken;
      for (Interval *o : placed) {
        if (overlaps(o)) {
          taken.emplace_back(o->offset, o->offset + o->size);
        }
      }
      std::sort(taken.begin(), taken.end());
      int64_t offset = 0;
      for (auto [begin, end] : taken) {
        if (offset + iv->size <= begin) {
          break;
        }
        offset = std::max(offset, end);
      }
      iv->offset = offset;
      total = std::max(total, offset + iv->size);
      iv->op.setOffsetAttr(
          IntegerAttr::get(IntegerType::get(module.getContext(), 64), offset));
      placed.push_back(iv);
    }
    module->setAttr(
        "fdkernel.arena_size",
        IntegerAttr::get(IntegerType::get(module.getContext(), 64), total));
  }
};

} // namespace
