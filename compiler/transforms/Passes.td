//===- Passes.td - fusedecode compiler passes --------------*- tablegen -*-===//

#ifndef FUSEDECODE_TRANSFORMS_PASSES
#define FUSEDECODE_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def LowerToKernelsPass : Pass<"fd-lower-to-kernels", "mlir::ModuleOp"> {
  let summary = "Lower the fdgraph forward function to the kernel launches of one decode token";
  let description = [{
    Turns each op of `func.func @forward` into one or more `fdkernel.launch`
    ops of the templates in `codegen-templates/` (a fixed rule per op; the
    cost model that chooses parameters is a later pass), inside one
    `fdkernel.step "decode"`, and declares every buffer they touch:
    weights (with the `fdgraph.weight` and packing layout they come from),
    per-layer state (GDN conv and recurrent state, KV cache), io (token,
    position, sampling step, next token) and arena activations, whose
    offsets `fd-plan-memory` assigns. The residual stream is float32;
    GEMV inputs are bf16.

    Before:
    ```mlir
    %x = fdgraph.rms_norm %h, @"layers.0.input_layernorm" {...} : tensor<?x64xf32>
    %y = fdgraph.linear %x, @"layers.0.linear_attn.in_proj_z" quant(...) : ...
    ```
    After (abridged):
    ```mlir
    fdkernel.launch "rms_norm" <{THREADS = 256, ZERO_CENTERED = true, IN_F32 = true}>
        target <sm_90> grid [1, 1, 1] block [256, 1, 1]
        ins [@a.h, @w.layers.0.input_layernorm] outs [@a.x1] scalars {d = 64, eps = 1.0e-06}
    fdkernel.launch "gemv_w4a16" <{ROWS = 2, M = 1, WAVES = 4, GROUP = 32, ZEROS = false, OUT_BF16 = false}>
        ... ins [@w.layers.0.linear_attn.in_proj_z.qweight, ...scales, @__null, @a.x1] outs [@a.y2]
    ```
    The forward function stays: it is what the CPU backend interprets.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "GPU target: gfx1151, gfx1100 or sm_90">,
    Option<"maxContext", "max-context", "int64_t", /*default=*/"4096",
           "Positions the KV cache holds">,
  ];
  let dependentDialects = ["fd::fdkernel::FDKernelDialect"];
}

def PlanMemoryPass : Pass<"fd-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place arena buffers by liveness over the launch order";
  let description = [{
    Each arena buffer lives from the first to the last launch of the decode
    step that names it. Buffers are placed largest first at the lowest
    256-byte-aligned offset that overlaps no buffer alive at the same time;
    the module gets `fdkernel.arena_size`. Non-arena buffers are left alone.

    Before: `fdkernel.buffer @a <arena> size 100 offset 0` (all at 0)
    After: disjoint offsets where lifetimes overlap, shared ones where not.
  }];
}

#endif
