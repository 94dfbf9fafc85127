#!/usr/bin/env python3
"""The peer in bench's table: HF transformers on the same full-size shape.

Builds Qwen3_5MoeForCausalLM from a checkpoint's config.json (fd-synth
--header-only writes the full-size one) directly on the GPU in bf16 with
transformers' own random initialisation (no checkpoint is read; the speed of
a decode step does not depend on the values), then runs the workload of
`OUT/<model> bench`: random prompts of --input-len ids, --output-len greedy
tokens each with the model's cache, --warmup prompts first; decode tok/s =
1 / TPOT (median, min, max over prompts), TTFT. It says where each of the
gated-delta-net functions runs (flash-linear-attention's and causal-conv1d's
kernels when they import, else transformers' torch reference), read from the
wrapper transformers put around each.

    python3 bench/hf_peer.py --config DIR/config.json --input-len 128 \
        --output-len 128 --num-prompts 3 --json peer.json   (--input-len 128,4096: both)
"""
import argparse
import json
import statistics
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--input-len", default="128",
                    help="one length or several (128,4096): one workload each, same model")
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--num-prompts", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()

    with open(a.config) as f:
        config = json.load(f)
    text = dict(config.get("text_config", config))
    text.pop("model_type", None)
    cfg = transformers.Qwen3_5MoeTextConfig(**text)
    torch.manual_seed(a.seed)
    t0 = time.time()
    with torch.device("cuda"):
        model = transformers.Qwen3_5MoeForCausalLM._from_config(
            cfg, dtype=torch.bfloat16)
    model.eval()
    torch.cuda.synchronize()
    build_s = time.time() - t0
    params = sum(p.numel() for p in model.parameters())

    import transformers.models.qwen3_5_moe.modeling_qwen3_5_moe as m
    paths = {name: implementation_of(getattr(m, name, None)) for name in
             ("causal_conv1d_fn", "causal_conv1d_update",
              "torch_chunk_gated_delta_rule",
              "torch_recurrent_gated_delta_rule")}
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, "
          f"{params / 1e9:.2f} B parameters in bf16 built in {build_s:.1f} s; "
          f"GDN paths: {paths}", flush=True)

    results = []
    for input_len in [int(x) for x in a.input_len.split(",")]:
        results.append(workload(model, cfg, a, input_len, paths, params))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


def implementation_of(fn):
    """Where a GDN function of the modeling file really runs: transformers 5
    wraps each in use_kernel_func_from_hub_with_fallback, which binds the
    package's kernel (flash-linear-attention, causal-conv1d) when it imports
    and the torch reference otherwise; the binding sits in the wrapper's
    closure as `implementation`. "module.name" of what it bound, or what
    stopped the look (never a guess)."""
    if fn is None:
        return "absent from the modeling file"
    f = fn
    for _ in range(8):
        code = getattr(f, "__code__", None)
        if code is not None and "implementation" in code.co_freevars:
            cell = f.__closure__[code.co_freevars.index("implementation")]
            impl = cell.cell_contents
            return f"{getattr(impl, '__module__', '?')}.{getattr(impl, '__name__', '?')}"
        f = getattr(f, "__wrapped__", None)
        if f is None:
            break
    return "unknown (no kernel-fallback wrapper found)"


def workload(model, cfg, a, input_len, paths, params):
    gen = torch.Generator().manual_seed(a.seed)
    tok_s, ttft_ms, tpot_ms = [], [], []
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        for p in range(a.warmup + a.num_prompts):
            ids = torch.randint(0, cfg.vocab_size, (1, input_len), generator=gen).cuda()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model(input_ids=ids, use_cache=True)
            nxt = out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            ttft = time.perf_counter() - t0
            past = out.past_key_values
            t1 = time.perf_counter()
            for _ in range(a.output_len - 1):
                out = model(input_ids=nxt, past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            tpot = (time.perf_counter() - t1) / (a.output_len - 1)
            if p >= a.warmup:
                tok_s.append(1 / tpot)
                tpot_ms.append(tpot * 1e3)
                ttft_ms.append(ttft * 1e3)
            print(f"{input_len}/{a.output_len} prompt {p}{' (warm-up)' if p < a.warmup else ''}: "
                  f"TTFT {ttft * 1e3:.1f} ms, decode {1 / tpot:.2f} tok/s", flush=True)
    result = {
        "peer": "transformers",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        "gdn_paths": paths,
        "dtype": "bfloat16",
        "parameters": params,
        "workload": {"input_len": input_len, "output_len": a.output_len,
                     "num_prompts": a.num_prompts, "warmup": a.warmup},
        "decode_tok_s": {"median": statistics.median(tok_s), "min": min(tok_s),
                         "max": max(tok_s)},
        "tpot_ms": {"median": statistics.median(tpot_ms)},
        "ttft_ms": {"median": statistics.median(ttft_ms)},
        "gpu_memory_bytes": torch.cuda.max_memory_allocated(),
    }
    print(f"transformers {input_len}/{a.output_len}: decode "
          f"{result['decode_tok_s']['median']:.2f} tok/s median "
          f"(min {min(tok_s):.2f}, max {max(tok_s):.2f}), TTFT "
          f"{result['ttft_ms']['median']:.1f} ms, peak memory "
          f"{result['gpu_memory_bytes'] / 2**30:.1f} GiB", flush=True)
    return result


if __name__ == "__main__":
    main()
