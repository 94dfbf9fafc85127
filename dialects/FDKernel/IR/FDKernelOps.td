//===- FDKernelOps.td - fdkernel operations ----------------*- tablegen -*-===//

#ifndef FDKERNEL_OPS
#define FDKERNEL_OPS

include "dialects/FDKernel/IR/FDKernelDialect.td"
include "dialects/FDKernel/IR/FDKernelAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"

def FDKernel_BufferOp : FDKernel_Op<"buffer", [Symbol]> {
  let summary = "A statically planned device buffer";
  let description = [{
    A region of device memory with a size known at compile time. Arena buffers
    are placed at `offset` in the activation arena by the memory planner;
    weights, state and KV cache live in their own allocations. A weight
    buffer names the `fdgraph.weight` it is packed from and the `layout` of
    the packing (`w4.qweight`, `w4.scales`, `w4.zeros`, `bf16`, `f32`).

    ```mlir
    fdkernel.buffer @h0 #fdkernel.buffer_kind<arena> size 8192 offset 0
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       FDKernel_BufferKindAttr:$kind,
                       I64Attr:$size, I64Attr:$offset,
                       OptionalAttr<FlatSymbolRefAttr>:$weight,
                       OptionalAttr<StrAttr>:$layout);
  let assemblyFormat = [{
    $sym_name $kind `size` $size `offset` $offset
    (`weight` $weight^ `layout` $layout)? attr-dict
  }];
  let hasVerifier = 1;
}

def FDKernel_StepOp : FDKernel_Op<"step", [NoTerminator, NoRegionArguments]> {
  let summary = "An ordered list of launches run as one unit (one GPU graph)";
  let description = [{
    Holds the launches of one phase (`decode`, `prefill`) in execution order.
    The runtime captures a `decode` step into a single GPU graph.

    ```mlir
    fdkernel.step "decode" {
      fdkernel.launch "rms_norm" ...
    }
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$name attr-dict-with-keyword $body";
}

def FDKernel_LaunchOp : FDKernel_Op<"launch",
    [HasParent<"StepOp">, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "One launch of an instantiated kernel template";
  let description = [{
    `template` names a kernel template of `codegen-templates/`; `params` are
    its template parameters (integers, e.g. lanes per wave, rows per wave,
    unroll). `ins` and `outs` name `fdkernel.buffer`s in the kernel's
    argument order (`@__null` passes a null pointer for an optional input,
    or for an optional output the kernel then does not write; at least one
    output names a buffer);
    `scalars` are its scalar arguments by name (integers and floats).
    `epilogues` lists the work fused after the main loop, in order. `grid`
    and `block` are the launch dimensions; blocks are whole waves of 32 on
    every supported target.

    ```mlir
    fdkernel.launch "w4a16_gemv" <{rows_per_wave = 2 : i64}> target <sm_90>
        grid [1024, 1, 1] block [64, 1, 1] ins [@x, @w] outs [@y]
        epilogues [#fdkernel.epilogue<residual_add>]
    ```
  }];
  let arguments = (ins StrAttr:$template_name, DictionaryAttr:$params,
                       FDKernel_TargetAttr:$target,
                       DenseI64ArrayAttr:$grid, DenseI64ArrayAttr:$block,
                       FlatSymbolRefArrayAttr:$ins, FlatSymbolRefArrayAttr:$outs,
                       DefaultValuedAttr<DictionaryAttr, "{}">:$scalars,
                       DefaultValuedAttr<FDKernel_EpilogueArrayAttr, "{}">:$epilogues);
  let assemblyFormat = [{
    $template_name `<` $params `>` `target` $target `grid` $grid `block` $block
    `ins` $ins `outs` $outs (`scalars` $scalars^)? (`epilogues` $epilogues^)? attr-dict
  }];
  let hasVerifier = 1;
}

#endif // FDKERNEL_OPS
