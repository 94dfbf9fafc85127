//===- DeviceCompiler.cpp - kernel source -> code object + resources -----===//

#include "compiler/codegen/DeviceCompiler.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using llvm::StringRef;

namespace fd::codegen {

const char *targetName(GpuTarget t) {
  switch (t) {
  case GpuTarget::Gfx1151:
    return "gfx1151";
  case GpuTarget::Gfx1100:
    return "gfx1100";
  case GpuTarget::Sm90:
    return "sm_90";
  }
  return "?";
}

std::optional<GpuTarget> parseTarget(const std::string &name) {
  for (GpuTarget t :
       {GpuTarget::Gfx1151, GpuTarget::Gfx1100, GpuTarget::Sm90}) {
    if (name == targetName(t)) {
      return t;
    }
  }
  return std::nullopt;
}

bool isAmd(GpuTarget t) { return t != GpuTarget::Sm90; }

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

/// The integer after `key` on `line`, if the line has it.
std::optional<int> valueAfter(StringRef line, StringRef key) {
  size_t at = line.find(key);
  if (at == StringRef::npos) {
    return std::nullopt;
  }
  StringRef rest = line.substr(at + key.size()).ltrim();
  int v;
  if (rest.consumeInteger(10, v)) {
    return std::nullopt;
  }
  return v;
}

/// The integer right before `suffix` on `line` ("12 bytes smem" -> 12).
std::optional<int> intBefore(StringRef line, StringRef suffix) {
  size_t at = line.find(suffix);
  if (at == StringRef::npos) {
    return std::nullopt;
  }
  StringRef head = line.take_front(at);
  size_t start = head.find_last_not_of("0123456789");
  StringRef digits = start == StringRef::npos ? head : head.substr(start + 1);
  int v;
  if (digits.empty() || digits.getAsInteger(10, v)) {
    return std::nullopt;
  }
  return v;
}

/// Runs `args`, capturing stdout+stderr into `output`. Returns the exit code
/// or an error when the program cannot run at all.
llvm::Expected<int> run(llvm::ArrayRef<std::string> args, std::string &output,
                        StringRef workDir) {
  llvm::ErrorOr<std::string> exe = llvm::sys::findProgramByName(args[0]);
  if (!exe) {
    return error(args[0] + ": not found on PATH");
  }
  llvm::SmallString<128> log(workDir);
  std::optional<llvm::FileRemover> removeLog;
  if (workDir.empty()) {
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile("fd-compiler", "txt", log)) {
      return error("cannot make a temporary file: " + ec.message());
    }
    removeLog.emplace(log);
  } else {
    llvm::sys::path::append(log, "compiler-output.txt");
  }
  // The redirect does not truncate: start from no file.
  llvm::sys::fs::remove(log);
  std::vector<StringRef> argv;
  for (const std::string &a : args) {
    argv.push_back(a);
  }
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*exe, argv, std::nullopt, redirects, 0, 0,
                                     &message);
  if (rc < 0) {
    return error(args[0] + ": " + message);
  }
  auto buf = llvm::MemoryBuffer::getFile(log);
  output = buf ? (*buf)->getBuffer().str() : std::string();
  return rc;
}

std::string firstErrorLine(const std::string &output) {
  llvm::SmallVector<StringRef> lines;
  StringRef(output).split(lines, '\n');
  for (StringRef l : lines) {
    if (l.contains("error")) {
      return l.trim().str();
    }
  }
  return lines.empty() ? std::string("no output") : lines.front().trim().str();
}

} // namespace

std::vector<KernelResources> parseAmdRemarks(const std::string &text) {
  std::vector<KernelResources> out;
  llvm::SmallVector<StringRef> lines;
  StringRef(text).split(lines, '\n');
  for (StringRef l : lines) {
    size_t at = l.find("Function Name: ");
    if (at != StringRef::npos) {
      StringRef name = l.substr(at + 15);
      name = name.take_until([](char c) { return c == ' '; });
      out.push_back(KernelResources{name.str()});
      continue;
    }
    if (out.empty()) {
      continue;
    }
    KernelResources &k = out.back();
    if (auto v = valueAfter(l, "remark:     VGPRs: ")) {
      k.vgprs = *v;
    } else if (auto v = valueAfter(l, "TotalSGPRs: ")) {
      k.sgprs = *v;
    } else if (auto v = valueAfter(l, "ScratchSize [bytes/lane]: ")) {
      k.scratchBytesPerLane = *v;
    } else if (auto v = valueAfter(l, "Occupancy [waves/SIMD]: ")) {
      k.occupancyWavesPerSimd = *v;
    } else if (auto v = valueAfter(l, "LDS Size [bytes/block]: ")) {
      k.ldsBytes = *v;
    } else if (auto v = valueAfter(l, "VGPRs Spill: ")) {
      k.spillStores += *v;
    } else if (auto v = valueAfter(l, "SGPRs Spill: ")) {
      k.spillStores += *v;
    }
  }
  return out;
}

std::vector<KernelResources> parsePtxasInfo(const std::string &text) {
  std::vector<KernelResources> out;
  llvm::SmallVector<StringRef> lines;
  StringRef(text).split(lines, '\n');
  for (StringRef l : lines) {
    size_t at = l.find("Compiling entry function '");
    if (at != StringRef::npos) {
      StringRef name =
          l.substr(at + 26).take_until([](char c) { return c == '\''; });
      out.push_back(KernelResources{name.str()});
      continue;
    }
    if (out.empty()) {
      continue;
    }
    KernelResources &k = out.back();
    if (auto v = valueAfter(l, "Used ")) {
      k.registers = *v;
      k.sharedBytes = intBefore(l, " bytes smem").value_or(0);
    }
    if (l.contains("bytes stack frame")) {
      k.stackBytes = intBefore(l, " bytes stack frame").value_or(0);
      k.spillStores = intBefore(l, " bytes spill stores").value_or(0);
      k.spillLoads = intBefore(l, " bytes spill loads").value_or(0);
    }
  }
  return out;
}

llvm::Expected<std::string>
compilerVersion(GpuTarget target, const DeviceCompileOptions &options) {
  const std::string &program = isAmd(target) ? options.clang : options.nvcc;
  std::string version;
  llvm::Expected<int> rc = run({program, "--version"}, version, "");
  if (!rc) {
    return rc.takeError();
  }
  if (*rc != 0) {
    return error(program + " --version failed");
  }
  llvm::SmallVector<StringRef> lines;
  StringRef(version).trim().split(lines, '\n');
  // clang: the first line; nvcc: the last ("Build cuda_13.0...").
  return (isAmd(target) ? lines.front() : lines.back()).trim().str();
}

llvm::Expected<DeviceBinary>
compileForTarget(const std::string &source, GpuTarget target,
                 const DeviceCompileOptions &options) {
  llvm::SmallString<128> dir;
  if (options.workDir.empty()) {
    if (std::error_code ec =
            llvm::sys::fs::createUniqueDirectory("fd-device", dir)) {
      return error("cannot make a temporary directory: " + ec.message());
    }
  } else {
    dir = options.workDir;
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      return error(dir + ": " + ec.message());
    }
  }
  llvm::SmallString<128> src(dir), obj(dir);
  llvm::sys::path::append(src, "kernels.hip");
  llvm::sys::path::append(obj,
                          isAmd(target) ? "kernels.hsaco" : "kernels.cubin");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(src, ec);
    if (ec) {
      return error(src + ": " + ec.message());
    }
    os << source;
  }
  std::vector<std::string> args;
  if (isAmd(target)) {
    args = {options.clang,
            "-x",
            "hip",
            std::string("--offload-arch=") + targetName(target),
            "--cuda-device-only",
            "--no-gpu-bundle-output",
            "-nogpulib",
            "-nogpuinc",
            "-O3",
            "-std=c++17",
            "-Rpass-analysis=kernel-resource-usage"};
  } else {
    args = {options.nvcc, "-std=c++17", "-O3",     "-arch=sm_90", "-cubin",
            "-x",         "cu",         "-Xptxas", "-v"};
  }
  for (const std::string &inc : options.includeDirs) {
    args.push_back("-I" + inc);
  }
  args.push_back(src.str().str());
  args.push_back("-o");
  args.push_back(obj.str().str());

  DeviceBinary bin;
  bin.target = target;
  std::string output;
  llvm::Expected<int> rc = run(args, output, dir);
  if (!rc) {
    return rc.takeError();
  }
  if (*rc != 0) {
    return error(std::string(targetName(target)) +
                 " device compile failed: " + firstErrorLine(output));
  }
  bin.kernels =
      isAmd(target) ? parseAmdRemarks(output) : parsePtxasInfo(output);
  auto image = llvm::MemoryBuffer::getFile(obj, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!image) {
    return error(obj + ": " + image.getError().message());
  }
  bin.image.assign((*image)->getBufferStart(), (*image)->getBufferEnd());
  if (llvm::Expected<std::string> v = compilerVersion(target, options)) {
    bin.compilerVersion = *v;
  } else {
    llvm::consumeError(v.takeError());
  }
  return bin;
}

} // namespace fd::codegen
