//===- FDKernelAttrs.td - fdkernel attributes --------------*- tablegen -*-===//

#ifndef FDKERNEL_ATTRS
#define FDKERNEL_ATTRS

include "dialects/FDKernel/IR/FDKernelDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def FDKernel_Target : I32EnumAttr<"Target", "GPU target a kernel is compiled for", [
    I32EnumAttrCase<"gfx1151", 0>,
    I32EnumAttrCase<"gfx1100", 1>,
    I32EnumAttrCase<"sm_90", 2>
  ]> {
  let cppNamespace = "::fd::fdkernel";
  let genSpecializedAttr = 0;
}
def FDKernel_TargetAttr : EnumAttr<FDKernel_Dialect, FDKernel_Target, "target"> {
  let summary = "GPU target of a kernel launch";
  let assemblyFormat = "`<` $value `>`";
}

def FDKernel_BufferKind : I32EnumAttr<"BufferKind", "what a planned buffer holds", [
    I32EnumAttrCase<"arena", 0>,
    I32EnumAttrCase<"weight", 1>,
    I32EnumAttrCase<"state", 2>,
    I32EnumAttrCase<"kv_cache", 3>,
    I32EnumAttrCase<"io", 4>
  ]> {
  let cppNamespace = "::fd::fdkernel";
  let genSpecializedAttr = 0;
}
def FDKernel_BufferKindAttr
    : EnumAttr<FDKernel_Dialect, FDKernel_BufferKind, "buffer_kind"> {
  let summary = "Role of a planned buffer";
  let assemblyFormat = "`<` $value `>`";
}

def FDKernel_Epilogue : I32EnumAttr<"Epilogue", "work fused after a kernel's main loop", [
    I32EnumAttrCase<"silu_mul", 0>,
    I32EnumAttrCase<"residual_add", 1>,
    I32EnumAttrCase<"sigmoid_gate_mul", 2>,
    I32EnumAttrCase<"expert_weighted_sum", 3>,
    I32EnumAttrCase<"softmax_topk", 4>,
    I32EnumAttrCase<"argmax", 5>
  ]> {
  let cppNamespace = "::fd::fdkernel";
  let genSpecializedAttr = 0;
}
def FDKernel_EpilogueAttr
    : EnumAttr<FDKernel_Dialect, FDKernel_Epilogue, "epilogue"> {
  let summary = "One fused epilogue of a kernel launch";
  let assemblyFormat = "`<` $value `>`";
}
def FDKernel_EpilogueArrayAttr
    : TypedArrayAttrBase<FDKernel_EpilogueAttr, "fused epilogue list">;

#endif // FDKERNEL_ATTRS
