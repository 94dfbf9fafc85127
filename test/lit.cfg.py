# -*- Python -*-
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "fusedecode"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.fd_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["fd-opt", "compile-model", "fd-synth", "fd-ref", "fd-run", "fd-tune", "fd-tokenize", "embed", "fd-random-weights"], [config.fd_tools_dir])
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%examples", os.path.join(config.fd_src_root, "examples")))

# Kernel-template compiles: clang-22 for AMD targets, nvcc (when installed)
# for sm_90.
config.substitutions.append(("%clang22", config.clang22))
config.substitutions.append(("%templates", os.path.join(config.fd_src_root, "codegen-templates")))
config.substitutions.append(("%src", config.fd_src_root))
config.substitutions.append(("%python", sys.executable))
if config.fault_injection in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("fault-injection")
if config.nvcc:
    config.available_features.add("nvcc")
    config.substitutions.append(("%nvcc", config.nvcc))

# Compiled kernel resources (the cost model's candidates) are shared by the
# tests of one build: each instance is compiled once per build tree.
config.environment["FD_KERNEL_CACHE"] = os.path.join(config.fd_obj_root, "kernel-cache")

# Tuning databases: none unless a test names one, whatever this machine's
# ~/.cache holds.
config.environment["FD_TUNING_DB"] = os.path.join(config.fd_obj_root, "no-tuning-db")
