#!/usr/bin/env python3
"""Quantizes a tiny Qwen3.5-MoE with the real auto-round (RTN, iters=0, CPU).

Starts from fd-synth's tiny bf16 checkpoint (causal layout), loads it into
transformers' Qwen3_5MoeForCausalLM, quantizes it with auto-round's
AutoRound(bits=4, group_size=32, sym=True, iters=0) and saves it in the
auto_round format. Then loads the saved checkpoint back through transformers
(auto-round's own inference path) and records its logits for a prompt, so
that fd-ref can be compared with what transformers computes from the same
packed weights.

Usage: python3 autoround_fixture.py --base DIR --out FIXTURE_DIR --goldens DIR
           --name NAME --prompt-ids 1,2,3 --steps 16
"""
import argparse
import json
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_goldens  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--goldens", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--steps", type=int, default=16)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    import auto_round
    from auto_round import AutoRound

    with open(os.path.join(args.base, "config.json")) as f:
        config = json.load(f)
    model = hf_goldens.build_model(config)
    model.load_state_dict(hf_goldens.state_dict(config, hf_goldens.read_checkpoint(args.base)))
    # auto-round wants a tokenizer and calibration text even for RTN; a
    # word-level tokenizer over the tiny vocabulary serves, and no data set
    # is fetched (the machine is offline).
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab_size = model.config.vocab_size
    tok = Tokenizer(models.WordLevel(vocab={f"t{i}": i for i in range(vocab_size)},
                                     unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="t0", pad_token="t0", eos_token="t1")
    text = [" ".join(f"t{(7 * i + j) % vocab_size}" for j in range(16)) for i in range(4)]
    kwargs = dict(bits=4, group_size=32, sym=True, iters=0, nsamples=4, seqlen=16,
                  dataset=text)
    try:
        ar = AutoRound(model, tokenizer=tokenizer, disable_opt_rtn=True, **kwargs)
    except TypeError:
        ar = AutoRound(model, tokenizer=tokenizer, **kwargs)
    ar.quantize_and_save(output_dir=args.out, format="auto_round")
    # auto-round writes into a sub-folder named after the scheme (w4g32).
    saved = args.out
    if not os.path.exists(os.path.join(saved, "config.json")):
        subdirs = [d for d in os.listdir(saved)
                   if os.path.exists(os.path.join(saved, d, "config.json"))]
        saved = os.path.join(saved, subdirs[0])
    print("saved", saved, sorted(os.listdir(saved)))

    prompt = [int(x) for x in args.prompt_ids.split(",")]
    qmodel = transformers.AutoModelForCausalLM.from_pretrained(
        saved, device_map="cpu", dtype=torch.float32)
    qmodel.eval()
    # The weights transformers actually uses: push the identity through each
    # quantized layer (auto-round's own unpacking and dequantization, in its
    # own precision), then swap the layer for a float32 Linear of exactly
    # those weights, so the logits below carry no kernel rounding.
    from safetensors.torch import save_file
    os.makedirs(args.goldens, exist_ok=True)
    seen = {}
    for name, mod in list(qmodel.named_modules()):
        if not hasattr(mod, "qweight"):
            continue
        bits = getattr(mod, "bits", 4)
        k = mod.qweight.shape[0] * 32 // bits
        n = mod.qweight.shape[1]
        w = None
        for dt in (torch.float32, torch.float16, torch.bfloat16):
            try:
                w = mod(torch.eye(k, dtype=dt)).float().t().contiguous()
                break
            except Exception as e:  # a backend may insist on its dtype
                last = e
        if w is None:
            raise last
        assert w.shape == (n, k), (name, w.shape)
        seen[name + ".weight"] = w
        lin = torch.nn.Linear(k, n, bias=False)
        lin.weight.data.copy_(w)
        parent = qmodel.get_submodule(name.rsplit(".", 1)[0])
        setattr(parent, name.rsplit(".", 1)[1], lin)
    save_file(seen, os.path.join(args.goldens, args.name + ".seen.safetensors"))
    print("extracted", len(seen), "quantized layers")
    # auto-round loads the rest of the model in fp16; put every parameter
    # back in float32 and reload the unquantized tensors from the file so
    # they carry their exact stored values.
    from safetensors.torch import load_file
    for p in qmodel.parameters():
        p.data = p.data.float()
    for b in qmodel.buffers():
        if b.is_floating_point():
            b.data = b.data.float()
    plain = {k: v.float() for k, v in
             load_file(os.path.join(saved, "model.safetensors")).items()
             if v.is_floating_point() and not k.endswith(".scales")}
    result = qmodel.load_state_dict(plain, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    logits = hf_goldens.greedy_logits(qmodel, prompt, args.steps)
    os.makedirs(args.goldens, exist_ok=True)
    logits.numpy().astype("<f4").tofile(os.path.join(args.goldens, args.name + ".logits.f32"))
    meta = {
        "name": args.name,
        "prompt_ids": prompt,
        "steps": args.steps,
        "vocab_size": int(logits.shape[1]),
        "tokens": [int(r.argmax()) for r in logits],
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "auto_round": auto_round.__version__,
        "model_class": type(qmodel).__name__,
        "made_with": "AutoRound(bits=4, group_size=32, sym=True, iters=0) on fd-synth "
                     "--preset tiny --quant bf16 --layout causal --seed 0",
    }
    with open(os.path.join(args.goldens, args.name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
