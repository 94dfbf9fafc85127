//===- Plan.cpp - plan.json as the runtime reads it -----------------------===//

#include "Plan.h"

#include "Status.h"

#include <nlohmann/json.hpp>

namespace fd::runtime {

fd_error_t parsePlan(const std::string &text, const std::string &path,
                     Plan &out) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return makeError(path + ": malformed JSON");
  }
  try {
    // get<>() first: nlohmann compares with a literal through a temporary
    // json built inside a noexcept operator (allocation failure = abort).
    if (j.at("format").get<std::string>() != "fusedecode-plan" ||
        j.at("version").get<int64_t>() != 2) {
      return makeError(path + ": not a version 2 fusedecode plan");
    }
    out.hash = std::stoull(j.at("plan_hash").get<std::string>(), nullptr, 16);
    out.arenaBytes = j.at("arena_bytes").get<uint64_t>();
    out.maxContext = j.at("max_context").get<int64_t>();
    for (const auto &b : j.at("buffers")) {
      PlanBuffer pb;
      pb.name = b.at("name").get<std::string>();
      pb.kind = b.at("kind").get<std::string>();
      pb.size = b.at("size").get<uint64_t>();
      pb.offset = b.at("offset").get<uint64_t>();
      if (b.contains("layout")) {
        pb.layout = b.at("layout").get<std::string>();
      }
      if (b.contains("weight")) {
        pb.weight = b.at("weight").get<std::string>();
      }
      out.buffers.push_back(std::move(pb));
    }
    for (const auto &l : j.at("decode")) {
      PlanLaunch pl;
      pl.templateName = l.at("template").get<std::string>();
      for (auto it = l.at("kernel").begin(); it != l.at("kernel").end(); ++it) {
        PlanKernel &k = pl.kernel[it.key()];
        k.symbol = it.value().at("symbol").get<std::string>();
        if (auto o = it.value().find("overlap"); o != it.value().end()) {
          if (!o->is_boolean()) {
            return makeError(path + ": launch " +
                             std::to_string(out.decode.size()) + " (" +
                             pl.templateName + "): 'overlap' for " +
                             it.key() + " must be true or false");
          }
          k.overlap = o->get<bool>();
        }
        for (int d = 0; d < 3; ++d) {
          k.grid[d] = it.value().at("grid").at(d).get<unsigned>();
          k.block[d] = it.value().at("block").at(d).get<unsigned>();
          if (k.grid[d] == 0 || k.block[d] == 0) {
            return makeError(path + ": launch of " + pl.templateName +
                             " has an empty grid or block for " + it.key());
          }
        }
      }
      for (const auto &a : l.at("args")) {
        PlanArg pa;
        if (a.contains("buffer")) {
          pa.kind = PlanArg::Buffer;
          pa.buffer = a.at("buffer").get<size_t>();
          if (pa.buffer >= out.buffers.size()) {
            return makeError(path + ": launch of " + pl.templateName +
                             " names buffer " + std::to_string(pa.buffer) +
                             " of " + std::to_string(out.buffers.size()));
          }
        } else if (a.contains("i32")) {
          pa.kind = PlanArg::I32;
          pa.i32 = a.at("i32").get<int32_t>();
        } else if (a.contains("f32")) {
          pa.kind = PlanArg::F32;
          pa.f32 = a.at("f32").get<float>();
        } else if (a.contains("u64")) {
          pa.kind = PlanArg::U64;
          pa.u64 = a.at("u64").get<uint64_t>();
        }
        pl.args.push_back(pa);
      }
      if (l.contains("traffic")) {
        try {
          for (const auto &t : l.at("traffic")) {
            PlanTraffic pt;
            pt.category = t.at("category").get<std::string>();
            pt.bytes = t.at("bytes").get<uint64_t>();
            pt.perPosition = t.value("per_position", uint64_t{0});
            pl.traffic.push_back(std::move(pt));
          }
        } catch (const std::exception &ex) {
          return makeError(path + ": launch " +
                           std::to_string(out.decode.size()) + " (" +
                           pl.templateName + "): traffic: " + ex.what());
        }
      }
      out.decode.push_back(std::move(pl));
    }
  } catch (const std::exception &e) {
    return makeError(path + ": " + e.what());
  }
  return nullptr;
}

fd_error_t findBuffer(const Plan &plan, const std::string &name,
                      size_t &index) {
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    if (plan.buffers[i].name == name) {
      index = i;
      return nullptr;
    }
  }
  return makeError("plan.json: no buffer '" + name + "'");
}

} // namespace fd::runtime
