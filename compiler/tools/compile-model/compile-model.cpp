//===- compile-model.cpp - the fusedecode compiler driver -----------------===//
//
// compile-model CHECKPOINT --target sm_90,gfx1151 [--skip-weights] -o OUT
// compile-model CHECKPOINT --emit={fdgraph,fdkernel} [-o FILE]
//
// Imports a Hugging Face checkpoint directory, lowers its decode step to
// kernel launches, lets the cost model choose each GEMV's parameters per
// target (--explain prints why), generates kernels.<target>.hip and
// compiles it, packs
// the weights and writes the model executable OUT/<model> (the runtime's
// fd-run with plan, reference program and code objects appended), or
// prints one stage. Errors are one line on stderr and exit status 1.
//
//===----------------------------------------------------------------------===//

#include "compiler/codegen/DeviceCompiler.h"
#include "compiler/codegen/KernelRegistry.h"
#include "compiler/codegen/KernelSource.h"
#include "compiler/codegen/ModelExecutable.h"
#include "compiler/codegen/PackWeights.h"
#include "compiler/codegen/PlanWriter.h"
#include "compiler/costmodel/TargetInfo.h"
#include "compiler/import/ChatFormat.h"
#include "compiler/import/Importer.h"
#include "compiler/import/ModelConfig.h"
#include "compiler/reference/RefBuilder.h"
#include "compiler/reference/RefProgramJson.h"
#include "compiler/transforms/Passes.h"
#include "compiler/transforms/SelectKernels.h"
#include "compiler/transforms/TuningJob.h"
#include "dialects/FDKernel/IR/FDKernelOps.h"

#include "mlir/Pass/PassManager.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include <map>

using namespace llvm;

namespace {
enum class EmitKind { None, FDGraph, FDKernel };

cl::OptionCategory category("compile-model options");

cl::opt<std::string> checkpointDir(cl::Positional, cl::Required,
                                   cl::desc("<checkpoint directory>"),
                                   cl::cat(category));
cl::opt<EmitKind> emit(
    "emit",
    cl::desc("Print one stage instead of compiling (-o is then a file)"),
    cl::init(EmitKind::None),
    cl::values(clEnumValN(EmitKind::FDGraph, "fdgraph",
                          "the imported model graph (fdgraph dialect)"),
               clEnumValN(EmitKind::FDKernel, "fdkernel",
                          "the decode step as kernel launches with planned "
                          "buffers (fdkernel dialect)")),
    cl::cat(category));
cl::list<std::string> targets("target", cl::CommaSeparated,
                              cl::desc("GPU targets: sm_90, gfx1151, gfx1100 "
                                       "(comma separated; default sm_90)"),
                              cl::cat(category));
cl::opt<bool> skipWeights("skip-weights",
                          cl::desc("Do not write OUT/weights.fdw"),
                          cl::init(false), cl::cat(category));
cl::opt<std::string> templatesDir("templates",
                                  cl::desc("Kernel template directory"),
                                  cl::init(FD_TEMPLATES_DIR),
                                  cl::cat(category));
cl::opt<int64_t>
    maxContext("max-context",
               cl::desc("Positions the KV cache holds (--emit=fdkernel)"),
               cl::init(4096), cl::cat(category));
cl::opt<bool> printLocations(
    "print-locations",
    cl::desc(
        "Print each op's location: the config field or tensor it came from"),
    cl::init(false), cl::cat(category));
cl::opt<std::string>
    modelName("name",
              cl::desc("Name of the model executable OUT/<name> (default: the "
                       "checkpoint directory's name)"),
              cl::cat(category));
cl::opt<std::string> runtimeProgram(
    "runtime",
    cl::desc("The runtime program the executable is made from (default: "
             "fd-run beside compile-model)"),
    cl::cat(category));
cl::opt<bool> fuseResidual(
    "fuse-residual",
    cl::desc("Fold residual adds into the epilogue of o_proj / out_proj / "
             "the MoE combination (fd-fuse-residual; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseGlu(
    "fuse-glu",
    cl::desc("Compute SwiGLU gate and up projections and silu(gate)*up in "
             "one launch (fd-fuse-glu; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseRouter(
    "fuse-router",
    cl::desc("Compute the MoE router GEMV, softmax and top-k in one launch "
             "(fd-fuse-router; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseGdnConv(
    "fuse-gdn-conv",
    cl::desc("Compute Gated DeltaNet's causal conv inside its decode launch, "
             "the window in a ring of kernel-size slots (fd-fuse-gdn-conv; "
             "default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseKvAppend(
    "fuse-kv-append",
    cl::desc("Append the token's key and value to the KV cache inside its "
             "attention launch (fd-fuse-kv-append; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseRouterShared(
    "fuse-router-shared",
    cl::desc("Compute the shared expert's gate/up in the router's launch, "
             "the router's blocks first (fd-fuse-router-shared; default on)"),
    cl::init(true), cl::cat(category));
cl::list<std::string> forceConfig(
    "force-config",
    cl::desc("TEMPLATE=ROWS,LANES,WAVES: every launch of TEMPLATE takes this "
             "GEMV setting instead of the cost model's or the tuning "
             "database's choice (for experiments; repeatable)"),
    cl::cat(category));
cl::opt<bool> fuseSharedGate(
    "fuse-shared-gate",
    cl::desc("Fold sigmoid(shared_expert_gate(x)) into the shared expert's "
             "down projection, the gate's dot product reduced in that launch "
             "(fd-fuse-shared-gate; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseMoeCombine(
    "fuse-moe-combine",
    cl::desc("Compute the routed and shared experts' down projections and "
             "their weighted sum into the residual stream in one launch "
             "(fd-fuse-moe-combine; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseHorizontal(
    "fuse-horizontal",
    cl::desc("Compute GEMVs that read the same activations (GDN in_proj "
             "qkv|z|b|a, attention q|k|v, router + shared-expert gate) in "
             "one launch (fd-fuse-horizontal; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseRmsNorm(
    "fuse-rms-norm",
    cl::desc("Fold each RMSNorm into the prologue of the GEMV that first "
             "reads it (fd-fuse-rms-norm; default on)"),
    cl::init(true), cl::cat(category));
cl::opt<fd::codegen::OverlapLaunches> overlapLaunches(
    "overlap-launches",
    cl::desc("On targets that can (NVIDIA sm_90+), which launches start "
             "while the previous one finishes, their blocks fetching weights "
             "into L2 and then waiting for it (programmatic dependent "
             "launch)"),
    cl::values(
        clEnumValN(fd::codegen::OverlapLaunches::All, "all",
                   "every launch (default)"),
        clEnumValN(fd::codegen::OverlapLaunches::Prefetching, "prefetch",
                   "the launches whose kernel prefetches its weights"),
        clEnumValN(fd::codegen::OverlapLaunches::None, "none",
                   "none: every launch waits for the previous one to end")),
    cl::init(fd::codegen::OverlapLaunches::All), cl::cat(category));
cl::opt<int64_t> gdnMaxSplit(
    "gdn-max-split",
    cl::desc("Most blocks gdn_decode splits one Gated DeltaNet value head "
             "over, by columns of its state (1, 2 or 4; default 1: a block "
             "per head, which measured faster on sm_90 with overlapped "
             "launches, the split leaving the next launch no free SMs)"),
    cl::init(1), cl::cat(category));
cl::opt<int64_t> attentionMinChunk(
    "attention-min-chunk",
    cl::desc("Fewest KV positions one attention_decode block takes (rounded "
             "up to its 8 waves; default: the first target's, 32 on sm_90, "
             "8 on AMD): larger values give a short context fewer splits, a "
             "long one keeps max-context / 64"),
    cl::init(8), cl::cat(category));
cl::opt<int64_t> fuseRmsNormMaxRows(
    "fuse-rms-norm-max-rows",
    cl::desc("Fold an RMSNorm only into a reader of at most this many output "
             "rows (0: any; default: the first target's, 32768 on sm_90 "
             "(the router, GDN's in_proj and attention's q|k|v, not the "
             "lm_head), 4096 on AMD (the router only))"),
    cl::init(4096), cl::cat(category));
cl::opt<std::string> lmHeadQuant(
    "lm-head-quant",
    cl::desc("Quantize the bf16 lm_head at compile time: none, int8 (one "
             "scale per row), int8:g32, int8:g64, int8:g128 (one per group "
             "of K)"),
    cl::init("none"), cl::cat(category));
cl::opt<bool> explain(
    "explain",
    cl::desc("Print the cost model's decision per GEMV shape and target: "
             "candidates, registers, occupancy, predicted time, the choice "
             "and why"),
    cl::init(false), cl::cat(category));
cl::opt<bool> noCostModel(
    "no-cost-model",
    cl::desc("Keep the lowering's fixed GEMV parameters (ROWS=2, LANES=32, "
             "WAVES=4) instead of the cost model's choice"),
    cl::init(false), cl::cat(category));
cl::opt<std::string> kernelCache(
    "kernel-cache",
    cl::desc("Directory caching compiled kernel resources (default: "
             "$FD_KERNEL_CACHE, else ~/.cache/fusedecode/kernels)"),
    cl::cat(category));
cl::opt<std::string> tuningDb(
    "tuning-db",
    cl::desc("Directory of tuning databases (<target>.json): shapes whose "
             "candidates were all measured take the fastest (default: "
             "$FD_TUNING_DB, else ~/.cache/fusedecode/tuning)"),
    cl::cat(category));
cl::opt<bool> noTuningDb("no-tuning-db",
                         cl::desc("Ignore tuning databases: the cost model "
                                  "decides every shape"),
                         cl::init(false), cl::cat(category));
cl::opt<bool> autotune(
    "autotune",
    cl::desc("Time every candidate of every GEMV shape on this machine's GPU "
             "(fd-tune), store the times in the tuning database, then "
             "compile with them"),
    cl::init(false), cl::cat(category));
cl::opt<std::string> emitTuningJob(
    "emit-tuning-job",
    cl::desc("Write DIR/<target>/job.json and the candidates' code object "
             "for fd-tune on another machine, then stop"),
    cl::value_desc("DIR"), cl::cat(category));
cl::opt<std::string>
    tuner("tuner",
          cl::desc("The fd-tune program --autotune runs (default: next to "
                   "compile-model)"),
          cl::cat(category));
cl::opt<std::string> outputFile(
    "o",
    cl::desc("Output directory (compile) or file with --emit ('-' for stdout)"),
    cl::value_desc("path"), cl::init("-"), cl::cat(category));

int fail(const Twine &msg) {
  errs() << "compile-model: error: " << msg << "\n";
  return 1;
}

bool writeFile(StringRef path, StringRef bytes) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec) {
    return false;
  }
  os << bytes;
  return !os.has_error();
}

/// The cost model's occupancy for a launch, from the resources its compiler
/// reported (AMD: VGPRs and LDS; NVIDIA: registers and static shared memory).
fd::costmodel::Occupancy predictOccupancy(fd::codegen::GpuTarget t,
                                          const fd::codegen::KernelResources &k,
                                          int64_t blockThreads) {
  const fd::costmodel::TargetInfo *info =
      fd::costmodel::lookupTarget(fd::codegen::targetName(t));
  if (!info) {
    return {};
  }
  return fd::costmodel::occupancy(
      *info, fd::codegen::isAmd(t) ? k.vgprs : k.registers,
      fd::codegen::isAmd(t) ? k.ldsBytes : k.sharedBytes,
      static_cast<int>(blockThreads));
}

/// The target the lowering is written for (its launches name one; each
/// output target then gets its own selected copy).
std::string lowerTarget() {
  return targets.empty() ? std::string("sm_90") : targets.front();
}

/// Runs `pm` on `module`, turning the first diagnostic into one line.
std::string runPasses(mlir::PassManager &pm, mlir::ModuleOp module) {
  std::string firstError;
  mlir::ScopedDiagnosticHandler handler(
      module.getContext(), [&](mlir::Diagnostic &d) {
        if (d.getSeverity() == mlir::DiagnosticSeverity::Warning) {
          errs() << "compile-model: warning: " << d.str() << "\n";
          return mlir::success();
        }
        if (firstError.empty()) {
          llvm::raw_string_ostream os(firstError);
          os << d.getLocation() << ": " << d.str();
        }
        return mlir::success();
      });
  if (mlir::failed(pm.run(module))) {
    return firstError.empty() ? std::string("pass pipeline failed")
                              : firstError;
  }
  return "";
}

/// Where tuning databases are read and --autotune writes: --tuning-db,
/// else $FD_TUNING_DB, else $XDG_CACHE_HOME or ~/.cache + fusedecode/tuning;
/// empty with --no-tuning-db.
std::string tuningDbDir() {
  if (noTuningDb) {
    return "";
  }
  if (!tuningDb.empty()) {
    return tuningDb;
  }
  if (std::optional<std::string> d = sys::Process::GetEnv("FD_TUNING_DB")) {
    return *d;
  }
  SmallString<256> p;
  if (std::optional<std::string> x = sys::Process::GetEnv("XDG_CACHE_HOME")) {
    p = *x;
  } else if (sys::path::home_directory(p)) {
    sys::path::append(p, ".cache");
  } else {
    return "";
  }
  sys::path::append(p, "fusedecode", "tuning");
  return std::string(p);
}

/// The output targets (--target, default sm_90), checked.
std::optional<std::vector<fd::codegen::GpuTarget>> outputTargets() {
  std::vector<fd::codegen::GpuTarget> out;
  for (const std::string &t :
       targets.empty()
           ? std::vector<std::string>{"sm_90"}
           : std::vector<std::string>(targets.begin(), targets.end())) {
    std::optional<fd::codegen::GpuTarget> g = fd::codegen::parseTarget(t);
    if (!g) {
      fail("unknown target '" + t + "' (known: gfx1151, gfx1100, sm_90)");
      return std::nullopt;
    }
    out.push_back(*g);
  }
  return out;
}

/// --emit-tuning-job DIR / --autotune: per target, the job fd-tune runs.
int writeTuningJobs(mlir::ModuleOp module, const std::string &dir,
                    std::vector<std::string> *jobFiles) {
  std::optional<std::vector<fd::codegen::GpuTarget>> gpuTargets =
      outputTargets();
  if (!gpuTargets) {
    return 1;
  }
  fd::codegen::DeviceCompileOptions options;
  options.includeDirs = {templatesDir};
  for (fd::codegen::GpuTarget t : *gpuTargets) {
    SmallString<256> sub(dir);
    sys::path::append(sub, fd::codegen::targetName(t));
    Expected<fd::transforms::TuningJobSummary> job =
        fd::transforms::writeTuningJob(module, t, std::string(sub), options);
    if (!job) {
      return fail(toString(job.takeError()));
    }
    errs() << formatv("compile-model: {0}: {1} shapes, {2} candidates "
                      "({3} spilling left out) in {4}\n",
                      fd::codegen::targetName(t), job->shapes, job->candidates,
                      job->skippedSpilling, job->jobFile);
    if (jobFiles) {
      jobFiles->push_back(job->jobFile);
    }
  }
  return 0;
}

/// --autotune: fd-tune times each target's job on this machine's GPU and
/// merges the times into the tuning database directory.
int runAutotune(mlir::ModuleOp module, const char *argv0) {
  const std::string db = tuningDbDir();
  if (db.empty()) {
    return fail("--autotune needs a tuning database directory (--tuning-db "
                "DIR; --no-tuning-db was given or no home directory)");
  }
  SmallString<256> jobs(outputFile);
  sys::path::append(jobs, "tuning-job");
  std::vector<std::string> jobFiles;
  if (int rc = writeTuningJobs(module, std::string(jobs), &jobFiles)) {
    return rc;
  }
  std::string program = tuner;
  if (program.empty()) {
    SmallString<256> self(
        sys::fs::getMainExecutable(argv0, reinterpret_cast<void *>(&fail)));
    sys::path::remove_filename(self);
    sys::path::append(self, "fd-tune");
    program = std::string(self);
  }
  if (!sys::fs::can_execute(program)) {
    return fail("--autotune: the tuner '" + program +
                "' is missing or not executable (--tuner PATH)");
  }
  for (const std::string &job : jobFiles) {
    std::string message;
    int rc = sys::ExecuteAndWait(program, {program, job, "--db", db},
                                 std::nullopt, {}, 0, 0, &message);
    if (rc != 0) {
      return fail("--autotune: " + program + " failed on " + job +
                  (rc < 0 ? " (" + message + ")"
                          : " (exit " + std::to_string(rc) +
                                "; its message is above)"));
    }
  }
  return 0;
}

/// fd-select-kernels for `target` on `module`; decisions appended to `sink`.
std::string selectKernels(mlir::ModuleOp module, const std::string &target,
                          std::vector<fd::transforms::KernelChoice> *sink) {
  mlir::PassManager pm(module.getContext());
  fd::transforms::SelectKernelsPassOptions options;
  options.target = target;
  options.cacheDir = kernelCache;
  options.templates = templatesDir;
  options.tuningDb = tuningDbDir();
  options.force.assign(forceConfig.begin(), forceConfig.end());
  if (noCostModel) {
    // Only the target attribute changes: the lowering's parameters stay.
    module.walk([&](fd::fdkernel::LaunchOp l) {
      l.setTargetAttr(fd::fdkernel::TargetAttr::get(
          module.getContext(), *fd::fdkernel::symbolizeTarget(target)));
    });
    return "";
  }
  pm.addPass(fd::transforms::createSelectKernelsPass(options, sink));
  return runPasses(pm, module);
}

/// --explain: one block per decision; with a tuning database, each
/// candidate's measured time next to its prediction.
void printExplanation(
    const std::vector<fd::transforms::KernelChoice> &choices) {
  for (const fd::transforms::KernelChoice &c : choices) {
    const bool measured = std::any_of(c.measured.begin(), c.measured.end(),
                                      [](double us) { return us > 0; });
    outs() << formatv("{0} {1} {2}  ({3} launch{4}, first at {5})\n", c.target,
                      c.templateName, fd::transforms::describeShape(c.shape),
                      c.launches, c.launches == 1 ? "" : "es", c.firstOp);
    outs() << formatv("  {0,-4} {1,-5} {2,-5} {3,5} {4,9} {5,6} {6,7} {7,11} "
                      "{8,-9}{9}\n",
                      "ROWS", "LANES", "WAVES", "regs", "occupancy", "blocks",
                      "rounds", "predicted", "bound",
                      measured ? "   measured" : "");
    for (size_t i = 0; i < c.candidates.size(); ++i) {
      const fd::costmodel::Candidate &k = c.candidates[i];
      const fd::costmodel::Prediction &p = k.prediction;
      std::string occ =
          formatv("{0}%", static_cast<int>(p.occupancy.fraction * 100 + 0.5));
      std::string meas;
      if (measured) {
        meas = c.measured[i] > 0 ? formatv("{0,8:f2} us", c.measured[i]).str()
                                 : std::string("         --");
      }
      outs() << formatv(
          "  {0,-4} {1,-5} {2,-5} {3,5} {4,9} {5,6} {6,7} {7,8:f2} "
          "us {8,-9}{9}{10}{11}\n",
          k.config.rows, k.config.lanes, k.config.waves, k.registers, occ,
          p.blocks, p.rounds, p.micros, p.boundBy, meas,
          k.spills ? " spills" : "", i == c.chosen ? "  <- chosen" : "");
    }
    outs() << "  why: " << c.reason << "\n\n";
  }
}

/// The executable's file name: --name, or the checkpoint directory's name
/// with anything but [A-Za-z0-9._-] replaced by '-'.
std::string executableName() {
  std::string name = modelName;
  if (name.empty()) {
    StringRef dir = StringRef(checkpointDir).rtrim('/');
    name = sys::path::filename(dir).str();
    for (char &c : name) {
      if (!isAlnum(c) && c != '.' && c != '_' && c != '-') {
        c = '-';
      }
    }
    if (name.empty() || name == "." || name == "..") {
      name = "model";
    }
  }
  return name;
}

/// What the tuning database decided and how far the model was from the
/// measurements: per measured candidate |predicted - measured| / measured,
/// and per step the time the model's own picks would have cost over the
/// measured fastest (launches x difference).
struct TuningSummary {
  std::vector<std::string> files;
  std::vector<double> errors;
  int shapes = 0, shapesMeasured = 0, modelAgreed = 0;
  double predictedStepUs = 0, measuredStepUs = 0, modelPickStepUs = 0;

  void add(const fd::transforms::KernelChoice &c) {
    ++shapes;
    if (!c.byMeasurement) {
      return;
    }
    ++shapesMeasured;
    if (std::find(files.begin(), files.end(), c.tuningDbFile) == files.end()) {
      files.push_back(c.tuningDbFile);
    }
    for (size_t i = 0; i < c.candidates.size(); ++i) {
      if (c.measured[i] > 0) {
        errors.push_back(
            std::abs(c.candidates[i].prediction.micros - c.measured[i]) /
            c.measured[i]);
      }
    }
    modelAgreed += c.modelChoice == c.chosen;
    predictedStepUs += c.launches * c.candidates[c.chosen].prediction.micros;
    measuredStepUs += c.launches * c.measured[c.chosen];
    modelPickStepUs += c.launches * c.measured[c.modelChoice];
  }

  json::Value toJson() const {
    json::Array dbs;
    for (const std::string &f : files) {
      dbs.push_back(f);
    }
    json::Object o{{"databases", std::move(dbs)},
                   {"shapes", shapes},
                   {"shapes_measured", shapesMeasured}};
    if (shapesMeasured) {
      std::vector<double> e = errors;
      std::sort(e.begin(), e.end());
      o["model_agreed"] = modelAgreed;
      o["candidates_measured"] = static_cast<int64_t>(e.size());
      o["model_abs_error_median"] = e[e.size() / 2];
      o["model_abs_error_max"] = e.back();
      o["chosen_predicted_us_per_step"] = predictedStepUs;
      o["chosen_measured_us_per_step"] = measuredStepUs;
      o["model_picks_measured_us_per_step"] = modelPickStepUs;
    }
    return o;
  }
};

/// compile-model CKPT --target T[,T] -o OUT: per target kernels.<T>.hip and
/// its device binary
/// per target, plan.mlir, plan.json, reference.json, weights.fdw,
/// report.json and the executable.
int compileToDirectory(mlir::ModuleOp module, const std::string &refJson,
                       const std::string &program, const char *argv0) {
  // The tokenizer and chat format travel with the model (checked first: a
  // broken tokenizer file should fail before minutes of compiling).
  auto config = fd::import::parseModelConfig(checkpointDir);
  if (!config) {
    return fail(toString(config.takeError()));
  }
  auto chatFiles = fd::import::importChatFormat(checkpointDir, config->family);
  if (!chatFiles) {
    return fail(toString(chatFiles.takeError()));
  }
  if (outputFile == "-") {
    return fail(
        "-o OUT (the output directory) is required unless --emit is given");
  }
  std::optional<std::vector<fd::codegen::GpuTarget>> parsedTargets =
      outputTargets();
  if (!parsedTargets) {
    return 1;
  }
  const std::vector<fd::codegen::GpuTarget> &gpuTargets = *parsedTargets;
  const std::string exeName = executableName();
  for (StringRef taken :
       {"plan.mlir", "plan.json", "reference.json", "report.json",
        "weights.fdw", "tokenizer.json", "chat.json"}) {
    if (exeName == taken || StringRef(exeName).starts_with("kernels.") ||
        StringRef(exeName).starts_with("build-")) {
      return fail("--name '" + exeName + "' would overwrite " +
                  (exeName == taken ? taken.str() : "a compiler output") +
                  "; choose another name");
    }
  }
  if (std::error_code ec = sys::fs::create_directories(outputFile)) {
    return fail(outputFile + ": " + ec.message());
  }
  if (autotune) {
    if (noCostModel) {
      return fail("--autotune and --no-cost-model contradict each other");
    }
    if (int rc = runAutotune(module, argv0)) {
      return rc;
    }
  }
  std::string planText;
  raw_string_ostream planOs(planText);
  module->print(planOs);
  SmallString<128> planPath(outputFile);
  sys::path::append(planPath, "plan.mlir");
  if (!writeFile(planPath, planText)) {
    return fail(planPath + ": cannot write");
  }
  // The weights file carries the plan's hash: a runtime refuses weights
  // packed for another plan. Kernel parameters chosen per target below do
  // not change buffers or launch order, so the hash is taken before.
  const uint64_t planHash = fd::codegen::hashPlan(planText);
  if (!skipWeights) {
    SmallString<128> weightsPath(outputFile);
    sys::path::append(weightsPath, "weights.fdw");
    if (Error e = fd::codegen::packWeights(
            module, checkpointDir, std::string(weightsPath), planHash)) {
      return fail(toString(std::move(e)));
    }
  }

  std::vector<std::pair<std::string, std::string>> bundled{
      {"reference.json", refJson}};
  json::Array kernels, compilers, decisions;
  TuningSummary tuning;
  std::vector<mlir::OwningOpRef<mlir::ModuleOp>> targetModules;
  std::vector<std::unique_ptr<fd::codegen::KernelSource>> sources;
  std::vector<fd::codegen::TargetPlan> targetPlans;
  std::vector<fd::transforms::KernelChoice> choices;
  size_t launchCount = 0, instanceCount = 0;
  fd::codegen::DeviceCompileOptions options;
  options.includeDirs = {templatesDir};
  for (fd::codegen::GpuTarget t : gpuTargets) {
    const std::string tname = fd::codegen::targetName(t);
    // Each target gets its own copy of the plan: the cost model's choices
    // depend on the target's registers, occupancy and bandwidth.
    mlir::OwningOpRef<mlir::ModuleOp> tm(module.clone());
    size_t firstChoice = choices.size();
    std::string err = selectKernels(*tm, tname, &choices);
    if (!err.empty()) {
      return fail(err);
    }
    for (size_t i = firstChoice; i < choices.size(); ++i) {
      const fd::transforms::KernelChoice &c = choices[i];
      const fd::costmodel::Candidate &k = c.candidates[c.chosen];
      json::Array cands;
      for (size_t j = 0; j < c.candidates.size(); ++j) {
        const fd::costmodel::Candidate &o = c.candidates[j];
        json::Object cand{
            {"ROWS", o.config.rows},
            {"LANES", o.config.lanes},
            {"WAVES", o.config.waves},
            {"registers", o.registers},
            {"spills", o.spills},
            {"predicted_occupancy", o.prediction.occupancy.fraction},
            {"occupancy_limited_by", o.prediction.occupancy.limitedBy},
            {"blocks", o.prediction.blocks},
            {"rounds", o.prediction.rounds},
            {"predicted_us", o.prediction.micros},
            {"bound", o.prediction.boundBy}};
        if (c.compilerWaves[j] >= 0) {
          cand["compiler_occupancy"] = c.compilerWaves[j] / 16.0;
        }
        if (c.measured[j] > 0) {
          cand["measured_us"] = c.measured[j];
        }
        cands.push_back(std::move(cand));
      }
      tuning.add(c);
      const fd::costmodel::Candidate &mk = c.candidates[c.modelChoice];
      decisions.push_back(json::Object{
          {"target", c.target},
          {"chosen_by", c.byMeasurement ? "measurement" : "cost model"},
          {"model_choice", json::Object{{"ROWS", mk.config.rows},
                                        {"LANES", mk.config.lanes},
                                        {"WAVES", mk.config.waves}}},
          {"template", c.templateName},
          {"shape", fd::transforms::describeShape(c.shape)},
          {"launches", c.launches},
          {"first_op", c.firstOp},
          {"bytes", k.prediction.bytes},
          {"chosen", json::Object{{"ROWS", k.config.rows},
                                  {"LANES", k.config.lanes},
                                  {"WAVES", k.config.waves}}},
          {"predicted_us", k.prediction.micros},
          {"measured_us", c.measured[c.chosen] > 0
                              ? json::Value(c.measured[c.chosen])
                              : json::Value(nullptr)},
          {"reason", c.reason},
          {"candidates", std::move(cands)}});
    }
    auto source = fd::codegen::generateKernelSource(*tm);
    if (!source) {
      return fail(toString(source.takeError()));
    }
    SmallString<128> srcPath(outputFile);
    sys::path::append(srcPath, "kernels." + tname + ".hip");
    if (!writeFile(srcPath, source->text)) {
      return fail(srcPath + ": cannot write");
    }
    SmallString<128> work(outputFile);
    sys::path::append(work, "build-" + tname);
    options.workDir = std::string(work);
    auto bin = fd::codegen::compileForTarget(source->text, t, options);
    if (!bin) {
      return fail(toString(bin.takeError()));
    }
    if (Error e = fd::codegen::bindSymbols(*source, bin->kernels)) {
      return fail(toString(std::move(e)));
    }
    // The compiler's scratch (source copy, its output) only matters on failure.
    sys::fs::remove_directories(work);
    SmallString<128> binPath(outputFile);
    sys::path::append(binPath,
                      "kernels." + tname +
                          (fd::codegen::isAmd(t) ? ".hsaco" : ".cubin"));
    std::string image(reinterpret_cast<const char *>(bin->image.data()),
                      bin->image.size());
    if (!writeFile(binPath, image)) {
      return fail(binPath + ": cannot write");
    }
    bundled.emplace_back(sys::path::filename(binPath).str(), std::move(image));
    std::vector<fd::fdkernel::LaunchOp> launches;
    for (auto step : tm->getOps<fd::fdkernel::StepOp>()) {
      for (auto l : step.getBody().getOps<fd::fdkernel::LaunchOp>()) {
        launches.push_back(l);
      }
    }
    launchCount = launches.size();
    instanceCount = std::max(instanceCount, source->instances.size());
    const fd::costmodel::TargetInfo *targetInfo =
        fd::costmodel::lookupTarget(tname);
    const fd::codegen::OverlapLaunches overlapMode =
        targetInfo && targetInfo->overlapLaunches
            ? overlapLaunches.getValue()
            : fd::codegen::OverlapLaunches::None;
    for (size_t i = 0; i < launches.size(); ++i) {
      fd::fdkernel::LaunchOp l = launches[i];
      const fd::codegen::KernelInstance &inst =
          source->instances[source->launchInstance[i]];
      const fd::codegen::KernelResources *res = nullptr;
      for (const auto &k : bin->kernels) {
        if (k.name == inst.symbol) {
          res = &k;
        }
      }
      std::string loc;
      raw_string_ostream locOs(loc);
      l.getLoc().print(locOs);
      json::Object params;
      for (mlir::NamedAttribute p : l.getParams()) {
        if (auto b = dyn_cast<mlir::BoolAttr>(p.getValue())) {
          params[p.getName().str()] = b.getValue();
        } else if (auto v = dyn_cast<mlir::IntegerAttr>(p.getValue())) {
          params[p.getName().str()] = v.getInt();
        }
      }
      json::Object shape{{"M", 1}};
      for (StringRef dim : {"n", "k"}) {
        if (auto v = l.getScalars().getAs<mlir::IntegerAttr>(dim)) {
          shape[dim.upper()] = v.getInt();
        }
      }
      // A horizontally fused launch: N of each segment, and their sum.
      json::Array segments;
      int64_t rows = 0;
      for (int i = 0;; ++i) {
        auto v =
            l.getScalars().getAs<mlir::IntegerAttr>("n" + std::to_string(i));
        if (!v) {
          break;
        }
        segments.push_back(v.getInt());
        rows += v.getInt();
      }
      if (!segments.empty()) {
        shape["N"] = rows;
        shape["segments"] = std::move(segments);
      }
      int64_t block = l.getBlock()[0] * l.getBlock()[1] * l.getBlock()[2];
      json::Object entry{
          {"name", inst.symbol},
          {"op", loc},
          {"template", inst.templateName},
          {"params", std::move(params)},
          {"shape", std::move(shape)},
          {"target", tname},
          {"grid", json::Array{l.getGrid()[0], l.getGrid()[1], l.getGrid()[2]}},
          {"block", block},
          {"overlap",
           fd::codegen::launchOverlaps(
               overlapMode, fd::codegen::lookupTemplate(inst.templateName))}};
      if (auto cost = l->getAttrOfType<mlir::DictionaryAttr>("fdkernel.cost")) {
        if (auto us = cost.getAs<mlir::FloatAttr>("predicted_us")) {
          entry["predicted_us"] = us.getValueAsDouble();
        }
        if (auto us = cost.getAs<mlir::FloatAttr>("measured_us")) {
          entry["measured_us"] = us.getValueAsDouble();
        }
        if (auto why = cost.getAs<mlir::StringAttr>("reason")) {
          entry["choice"] = why.str();
        }
      }
      if (res) {
        if (fd::codegen::isAmd(t)) {
          entry["vgprs"] = res->vgprs;
          entry["sgprs"] = res->sgprs;
        } else {
          entry["registers"] = res->registers;
        }
        entry["spills"] = res->spillStores + res->spillLoads;
        // AMD: clang computes occupancy and the model must agree with it
        // (test/Codegen/occupancy-model.test); NVIDIA: nvcc does not, so
        // the model's value is the one reported.
        fd::costmodel::Occupancy predicted = predictOccupancy(t, *res, block);
        entry["occupancy"] = fd::codegen::isAmd(t)
                                 ? (res->occupancyWavesPerSimd > 0
                                        ? res->occupancyWavesPerSimd / 16.0
                                        : 0.0)
                                 : predicted.fraction;
        entry["predicted_occupancy"] = predicted.fraction;
        entry["occupancy_limited_by"] = predicted.limitedBy;
      }
      kernels.push_back(std::move(entry));
    }
    compilers.push_back(json::Object{{"target", tname},
                                     {"version", bin->compilerVersion},
                                     {"binary", std::string(binPath)}});
    sources.push_back(
        std::make_unique<fd::codegen::KernelSource>(std::move(*source)));
    targetPlans.push_back({tname, *tm, sources.back().get(), overlapMode});
    targetModules.push_back(std::move(tm));
  }
  if (explain) {
    printExplanation(choices);
  }
  int64_t arena = 0;
  if (auto a =
          module->getAttrOfType<mlir::IntegerAttr>("fdkernel.arena_size")) {
    arena = a.getInt();
  }
  json::Object report{
      {"plan_hash", formatv("{0:x16}", planHash).str()},
      {"launches_per_step", static_cast<int64_t>(launchCount)},
      {"kernel_instances", static_cast<int64_t>(instanceCount)},
      {"cost_model", noCostModel ? "off" : "on"},
      {"lm_head_quant", std::string(lmHeadQuant)},
      {"fusions", json::Object{{"residual", bool(fuseResidual)},
                               {"gdn_conv", bool(fuseGdnConv)},
                               {"kv_append", bool(fuseKvAppend)},
                               {"glu", bool(fuseGlu)},
                               {"router", bool(fuseRouter)},
                               {"router_shared", bool(fuseRouterShared)},
                               {"shared_gate", bool(fuseSharedGate)},
                               {"moe_combine", bool(fuseMoeCombine)},
                               {"horizontal", bool(fuseHorizontal)},
                               {"rms_norm", bool(fuseRmsNorm)}}},
      {"tuning", tuning.toJson()},
      {"decisions", std::move(decisions)},
      {"arena_bytes", arena},
      {"compilers", std::move(compilers)},
      {"kernels", std::move(kernels)}};
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(report))) << "\n";
  auto planJson = fd::codegen::writePlanJson(module, targetPlans, planHash);
  if (!planJson) {
    return fail(toString(planJson.takeError()));
  }
  SmallString<128> planJsonPath(outputFile);
  sys::path::append(planJsonPath, "plan.json");
  if (!writeFile(planJsonPath, *planJson)) {
    return fail(planJsonPath + ": cannot write");
  }
  SmallString<128> refPath(outputFile);
  sys::path::append(refPath, "reference.json");
  if (!writeFile(refPath, refJson)) {
    return fail(refPath + ": cannot write");
  }
  SmallString<128> reportPath(outputFile);
  sys::path::append(reportPath, "report.json");
  if (!writeFile(reportPath, text)) {
    return fail(reportPath + ": cannot write");
  }
  if (!chatFiles->tokenizerJson.empty()) {
    for (const auto &[name, text] :
         {std::make_pair("tokenizer.json", &chatFiles->tokenizerJson),
          std::make_pair("chat.json", &chatFiles->chatJson)}) {
      SmallString<128> path(outputFile);
      sys::path::append(path, name);
      if (!writeFile(path, *text)) {
        return fail(path + ": cannot write");
      }
      bundled.emplace_back(name, *text);
    }
  }
  bundled.insert(bundled.begin(), {"plan.json", *planJson});
  SmallString<128> exePath(outputFile);
  sys::path::append(exePath, exeName);
  std::string err =
      fd::codegen::writeModelExecutable(program, std::string(exePath), bundled);
  if (!err.empty()) {
    return fail(err);
  }
  // The server module `OUT/<model> serve` loads, from beside the runtime
  // program (absent when the runtime was built without it).
  SmallString<256> serverModule(program);
  sys::path::remove_filename(serverModule);
  sys::path::append(serverModule, "fd-serve.so");
  if (sys::fs::exists(serverModule)) {
    SmallString<128> dest(outputFile);
    sys::path::append(dest, "fd-serve.so");
    if (std::error_code ec = sys::fs::copy_file(serverModule, dest)) {
      return fail(dest + ": cannot write: " + ec.message());
    }
  }
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "fusedecode model compiler\n\n"
      "Imports a Hugging Face checkpoint directory (config.json,\n"
      "*.safetensors, optional model.safetensors.index.json) of Qwen3.5-MoE "
      "or\n"
      "Qwen3-MoE, lowers one decode step to kernel launches and writes\n"
      "OUT/kernels.<target>.{hip,hsaco,cubin}, OUT/plan.mlir,\n"
      "OUT/plan.json (the launch plan for the runtime), OUT/reference.json\n"
      "(the program for the CPU backend), OUT/weights.fdw (unless\n"
      "--skip-weights), OUT/report.json and the executable OUT/<name>:\n"
      "  OUT/<name> run --prompt-ids 1,2,3 -n 128\n"
      "or prints the stage --emit names.\n");
  // An unset --attention-min-chunk or --fuse-rms-norm-max-rows takes the
  // first target's default (TargetInfo.cpp says where it was measured): the
  // plan is shared by every --target.
  if (const fd::costmodel::TargetInfo *planTarget =
          fd::costmodel::lookupTarget(lowerTarget())) {
    if (attentionMinChunk.getNumOccurrences() == 0) {
      attentionMinChunk = std::min<int64_t>(planTarget->attentionMinChunk,
                                            std::max<int64_t>(1, maxContext));
    }
    if (fuseRmsNormMaxRows.getNumOccurrences() == 0) {
      fuseRmsNormMaxRows = planTarget->normFoldMaxRows;
    }
  }
  if (fuseRmsNormMaxRows < 0) {
    return fail("--fuse-rms-norm-max-rows " +
                std::to_string(fuseRmsNormMaxRows) +
                ": expected 0 (any reader) or a positive row count");
  }
  if (noCostModel && !forceConfig.empty()) {
    return fail("--force-config and --no-cost-model contradict each other "
                "(--no-cost-model keeps the lowering's settings)");
  }
  if (gdnMaxSplit != 1 && gdnMaxSplit != 2 && gdnMaxSplit != 4) {
    return fail("--gdn-max-split must be 1, 2 or 4, got " +
                std::to_string(gdnMaxSplit));
  }
  if (attentionMinChunk < 1 || attentionMinChunk > maxContext) {
    return fail("--attention-min-chunk must be in [1, --max-context], got " +
                std::to_string(attentionMinChunk));
  }

  mlir::DialectRegistry registry;
  fd::import::registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  // Errors are reported once, as one line, by this driver.
  context.printOpOnDiagnostic(false);

  auto module = fd::import::importCheckpoint(context, checkpointDir);
  if (!module) {
    return fail(toString(module.takeError()));
  }

  // The CPU backend's program: the graph before lowering, weights by name
  // and shape only (the runtime reads their data from weights.fdw).
  std::string refJson, program;
  if (emit == EmitKind::None) {
    auto ref = fd::reference::buildRefProgram(**module, checkpointDir,
                                              /*loadData=*/false);
    if (!ref) {
      return fail(toString(ref.takeError()));
    }
    refJson = fd::reference::refProgramToJson(*ref);
    program = runtimeProgram;
    if (program.empty()) {
      SmallString<256> self(
          sys::fs::getMainExecutable(argv[0], reinterpret_cast<void *>(&fail)));
      sys::path::remove_filename(self);
      sys::path::append(self, "fd-run");
      program = std::string(self);
    }
  }

  if (emit != EmitKind::FDGraph) {
    context.loadDialect<fd::fdkernel::FDKernelDialect>();
    mlir::PassManager pm(&context);
    fd::transforms::LowerToKernelsPassOptions lowerOptions;
    lowerOptions.target = lowerTarget();
    lowerOptions.maxContext = maxContext;
    lowerOptions.gdnMaxSplit = gdnMaxSplit;
    lowerOptions.attentionMinChunk = attentionMinChunk;
    pm.addPass(fd::transforms::createLowerToKernelsPass(lowerOptions));
    if (fuseResidual) {
      pm.addPass(fd::transforms::createFuseResidualPass());
    }
    if (fuseGlu) {
      pm.addPass(fd::transforms::createFuseGluPass());
    }
    if (fuseRouter) {
      pm.addPass(fd::transforms::createFuseRouterPass());
    }
    if (fuseSharedGate) {
      pm.addPass(fd::transforms::createFuseSharedGatePass());
    }
    if (fuseMoeCombine) {
      pm.addPass(fd::transforms::createFuseMoeCombinePass());
    }
    if (fuseRouterShared) {
      pm.addPass(fd::transforms::createFuseRouterSharedPass());
    }
    if (fuseGdnConv) {
      pm.addPass(fd::transforms::createFuseGdnConvPass());
    }
    if (fuseKvAppend) {
      pm.addPass(fd::transforms::createFuseKvAppendPass());
    }
    if (fuseHorizontal) {
      pm.addPass(fd::transforms::createFuseHorizontalPass());
    }
    if (lmHeadQuant != "none") {
      fd::transforms::QuantizeLmHeadPassOptions quantOptions;
      quantOptions.mode = lmHeadQuant;
      pm.addPass(fd::transforms::createQuantizeLmHeadPass(quantOptions));
    }
    if (fuseRmsNorm) {
      fd::transforms::FuseRmsNormPassOptions normOptions;
      normOptions.maxRows = fuseRmsNormMaxRows;
      pm.addPass(fd::transforms::createFuseRmsNormPass(normOptions));
    }
    pm.addPass(fd::transforms::createPlanMemoryPass());
    std::string err = runPasses(pm, **module);
    if (!err.empty()) {
      return fail(err);
    }
  }
  if (!emitTuningJob.empty()) {
    if (emit != EmitKind::None) {
      return fail("--emit-tuning-job and --emit exclude each other");
    }
    return writeTuningJobs(**module, emitTuningJob, nullptr);
  }
  if (emit == EmitKind::FDKernel) {
    // What the first target runs: the cost model's parameters included.
    std::vector<fd::transforms::KernelChoice> choices;
    std::string err = selectKernels(**module, lowerTarget(), &choices);
    if (!err.empty()) {
      return fail(err);
    }
    if (explain) {
      printExplanation(choices);
    }
  }

  if (emit == EmitKind::None) {
    return compileToDirectory(**module, refJson, program, argv[0]);
  }

  std::error_code ec;
  ToolOutputFile out(outputFile, ec, sys::fs::OF_None);
  if (ec) {
    return fail(outputFile + ": " + ec.message());
  }
  switch (emit) {
  case EmitKind::None: // handled above
  case EmitKind::FDGraph:
  case EmitKind::FDKernel:
    (*module)->print(out.os(),
                     mlir::OpPrintingFlags()
                         .enableDebugInfo(printLocations, /*prettyForm=*/false)
                         .useLocalScope(printLocations));
    out.os() << "\n";
    break;
  }
  out.keep();
  return 0;
}
