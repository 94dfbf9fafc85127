//===- FDKernelDialect.td - fdkernel dialect definition ----*- tablegen -*-===//

#ifndef FDKERNEL_DIALECT
#define FDKERNEL_DIALECT

include "mlir/IR/OpBase.td"

def FDKernel_Dialect : Dialect {
  let name = "fdkernel";
  let summary = "Kernel launches of a compiled decode step";
  let description = [{
    `fdkernel` is the plan the runtime executes: statically planned buffers
    (`fdkernel.buffer`) and one `fdkernel.launch` per GPU kernel launch, naming
    the kernel template from `codegen-templates/`, its template parameters, the
    buffers it reads and writes, the epilogues fused into it and the target it
    was compiled for. Lowering `fdgraph` into it is the compiler's job; the
    launch order inside a `fdkernel.step` is the execution order.
  }];
  let cppNamespace = "::fd::fdkernel";
  let useDefaultAttributePrinterParser = 1;
}

class FDKernel_Op<string mnemonic, list<Trait> traits = []>
    : Op<FDKernel_Dialect, mnemonic, traits>;

#endif // FDKERNEL_DIALECT
