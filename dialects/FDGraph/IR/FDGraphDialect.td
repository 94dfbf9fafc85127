//===- FDGraphDialect.td - fdgraph dialect definition ------*- tablegen -*-===//
//
// The model-level dialect the checkpoint importer produces.
//
//===----------------------------------------------------------------------===//

#ifndef FDGRAPH_DIALECT
#define FDGRAPH_DIALECT

include "mlir/IR/OpBase.td"

def FDGraph_Dialect : Dialect {
  let name = "fdgraph";
  let summary = "Model-level graph of a quantized mixture-of-experts decoder";
  let description = [{
    `fdgraph` describes one forward step of a decoder-only language model at the
    granularity of model concepts: embedding, RMSNorm, (quantized) linear layers,
    Gated DeltaNet and gated attention mixers, mixture-of-experts blocks, the
    language-model head and sampling.

    Weights are symbols (`fdgraph.weight`) that name the safetensors file, the
    tensor, its storage type and shape, and its quantization. Ops refer to them
    by symbol, so the graph stays small while every byte of the checkpoint is
    accounted for. Recurrent state (KV cache, GDN conv and recurrent state) is
    implicit and addressed by the `layer` attribute of the mixer ops.
  }];
  let cppNamespace = "::fd::fdgraph";
  let useDefaultAttributePrinterParser = 1;
}

class FDGraph_Op<string mnemonic, list<Trait> traits = []>
    : Op<FDGraph_Dialect, mnemonic, traits>;

#endif // FDGRAPH_DIALECT
