//===- FDGraphAttrs.td - fdgraph attributes ----------------*- tablegen -*-===//

#ifndef FDGRAPH_ATTRS
#define FDGRAPH_ATTRS

include "dialects/FDGraph/IR/FDGraphDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def FDGraph_QuantScheme : I32EnumAttr<"QuantScheme",
    "how a quantized linear's tensors are packed", [
      I32EnumAttrCase<"autoround", 0>,
      I32EnumAttrCase<"gptq", 1>,
      I32EnumAttrCase<"compressed_tensors", 2>
    ]> {
  let cppNamespace = "::fd::fdgraph";
  let genSpecializedAttr = 0;
}

def FDGraph_QuantAttr : AttrDef<FDGraph_Dialect, "Quant"> {
  let mnemonic = "quant";
  let summary = "Integer weight quantization of a linear layer";
  let description = [{
    Describes how a linear layer's weight is quantized:

    - `scheme`: `autoround` and `gptq` share the GPTQ v1 packing (`qweight`
      int32 [K*bits/32, N], `scales` [K/G, N], `qzeros` int32 [K/G, N*bits/32]
      storing zero - 1); `compressed_tensors` is the `pack_quantized` layout
      (`weight_packed` int32 [N, K*bits/32], `weight_scale` [N, K/G], optional
      `weight_zero_point` int32 [N*bits/32, K/G]).
    - `bits`: bits per weight; 32 must be divisible by it.
    - `group_size`: K elements sharing one scale; -1 means one group per row.
    - `symmetric`: the zero point is the midpoint 2^(bits-1).
    - `zero_points`: zero-point tensor present in the checkpoint.

    Example: `#fdgraph.quant<scheme = autoround, bits = 4, group_size = 128,
    symmetric = true, zero_points = true>`
  }];
  let parameters = (ins
    EnumParameter<FDGraph_QuantScheme>:$scheme,
    "unsigned":$bits,
    "int64_t":$group_size,
    "bool":$symmetric,
    "bool":$zero_points);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def FDGraph_TensorRefAttr : AttrDef<FDGraph_Dialect, "TensorRef"> {
  let mnemonic = "tensor";
  let summary = "A tensor stored in a safetensors shard of the checkpoint";
  let description = [{
    Names one stored tensor: its name in the checkpoint, its storage element
    type and shape, and the index of the shard file that holds it (into the
    module's `fdgraph.shards` list).

    A name containing `{e}` stands for one tensor per routed expert (the
    per-expert on-disk layout): `files` then has one shard index per expert and
    `type` is the shape of one expert's tensor.

    Example: `#fdgraph.tensor<"model.layers.0.mlp.gate.weight",
    tensor<256x2048xbf16>, files = [3]>`
  }];
  let parameters = (ins
    StringRefParameter<"tensor name in the checkpoint">:$name,
    "::mlir::RankedTensorType":$type,
    ArrayRefParameter<"int32_t", "shard index per tensor">:$files);
  let assemblyFormat = "`<` $name `,` $type `,` `files` `=` `[` $files `]` `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True when the name stands for one tensor per routed expert.
    bool isPerExpert() const { return getName().contains("{e}"); }
    /// Shape including the expert dimension for per-expert tensors.
    ::llvm::SmallVector<int64_t> getEffectiveShape() const;
  }];
}

#endif // FDGRAPH_ATTRS
