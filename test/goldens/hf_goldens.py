#!/usr/bin/env python3
"""Records Hugging Face transformers logits for fusedecode's synthetic checkpoints.

Loads a checkpoint written by fd-synth into Qwen3_5MoeForCausalLM or
Qwen3MoeForCausalLM in float32, with every packed weight dequantized here (an
implementation independent of the C++ one in compiler/reference/Dequant.cpp),
prefills a fixed prompt and runs greedy decode steps with the KV/GDN cache,
and writes the last-position logits of the prefill and of every step.

Usage (on the GPU machine, where transformers 5.17 and torch live; the model
runs on the CPU in float32 so no TF32 or kernel choice enters the numbers):
    python3 hf_goldens.py --checkpoint DIR --name NAME --out OUTDIR \
        --prompt-ids 1,2,3 --steps 16
Writes OUTDIR/NAME.json and OUTDIR/NAME.logits.f32 ((steps+1) x vocab
little-endian float32, row-major).
"""
import argparse
import json
import os

import torch
import transformers
from safetensors import safe_open


def read_checkpoint(path):
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        with safe_open(os.path.join(path, name), framework="pt") as sf:
            for key in sf.keys():
                tensors[key] = sf.get_tensor(key)
    return tensors


def unpack(words, bits, dim):
    """Unpacks int32 words into bits-wide unsigned fields along `dim`."""
    per = 32 // bits
    w = words.to(torch.int64) & 0xFFFFFFFF
    shifts = torch.arange(per, dtype=torch.int64) * bits
    fields = (w.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)  # [..., C, per]
    if dim == 1:
        return fields.reshape(w.shape[0], w.shape[1] * per)
    # dim 0: row r of words holds rows r*per .. r*per+per-1
    return fields.permute(0, 2, 1).reshape(w.shape[0] * per, w.shape[1])


def dequant_gptq(t, prefix, bits, group):
    q = unpack(t[prefix + ".qweight"], bits, 0)  # [K, N]
    zeros = unpack(t[prefix + ".qzeros"], bits, 1) + 1  # [K/G, N]
    scales = t[prefix + ".scales"].float()  # [K/G, N]
    k = q.shape[0]
    g = torch.arange(k) // (k if group == -1 else group)
    w = (q - zeros[g]).float() * scales[g]
    return w.t().contiguous()  # [N, K]


def dequant_compressed(t, prefix, bits, group):
    offset = 1 << (bits - 1)
    q = unpack(t[prefix + ".weight_packed"], bits, 1) - offset  # [N, K]
    scales = t[prefix + ".weight_scale"].float()  # [N, K/G]
    k = q.shape[1]
    g = torch.arange(k) // (k if group == -1 else group)
    zp = 0
    if prefix + ".weight_zero_point" in t:
        zp = unpack(t[prefix + ".weight_zero_point"], bits, 0)[:, g] - offset
    return ((q - zp).float() * scales[:, g]).contiguous()


def state_dict(config, tensors):
    text_prefix = "model.language_model." if "text_config" in config else "model."
    quant = config.get("quantization_config") or {}
    method = quant.get("quant_method")
    if method == "compressed-tensors":
        wq = next(iter(quant["config_groups"].values()))["weights"]
        bits, group = wq["num_bits"], wq.get("group_size") or -1
    else:
        bits, group = quant.get("bits"), quant.get("group_size")
    sd = {}
    for name in tensors:
        if name.startswith("mtp.") or name.startswith("model.visual."):
            continue
        hf = name.replace(text_prefix, "model.", 1) if name.startswith(text_prefix) else name
        if name.endswith(".qweight"):
            base = name[: -len(".qweight")]
            sd[hf[: -len(".qweight")] + ".weight"] = dequant_gptq(tensors, base, bits, group)
        elif name.endswith(".weight_packed"):
            base = name[: -len(".weight_packed")]
            sd[hf[: -len(".weight_packed")] + ".weight"] = dequant_compressed(tensors, base, bits, group)
        elif name.endswith((".qzeros", ".scales", ".g_idx", ".weight_scale", ".weight_shape",
                            ".weight_zero_point")):
            continue
        else:
            sd[hf] = tensors[name].float()
    # transformers 5 keeps routed experts fused: gate_up_proj [E, 2I, H] (gate
    # rows first) and down_proj [E, H, I].
    fused = {}
    for key in list(sd):
        parts = key.split(".")
        if ".mlp.experts." in key and parts[-2] in ("gate_proj", "up_proj", "down_proj") \
                and parts[-3].isdigit():
            layer = ".".join(parts[:-3])
            fused.setdefault(layer, {}).setdefault(parts[-2], {})[int(parts[-3])] = sd.pop(key)
    for layer, projs in fused.items():
        n = len(projs["gate_proj"])
        sd[layer + ".gate_up_proj"] = torch.stack(
            [torch.cat([projs["gate_proj"][e], projs["up_proj"][e]], 0) for e in range(n)])
        sd[layer + ".down_proj"] = torch.stack([projs["down_proj"][e] for e in range(n)])
    return sd


def build_model(config):
    if config.get("model_type") == "qwen3_moe":
        cfg = transformers.Qwen3MoeConfig(**config)
        cls = transformers.Qwen3MoeForCausalLM
    else:
        text = dict(config["text_config"] if "text_config" in config else config)
        text.pop("quantization_config", None)
        cfg = transformers.Qwen3_5MoeTextConfig(**text)
        cls = transformers.Qwen3_5MoeForCausalLM
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = cls(cfg).float().eval()
    return model


def greedy_logits(model, prompt, steps):
    """Last-position logits of the prefill and of `steps` greedy decode steps."""
    out = model(input_ids=torch.tensor([prompt]), use_cache=True)
    rows = [out.logits[0, -1].float()]
    past = out.past_key_values
    for _ in range(steps):
        token = int(rows[-1].argmax())
        out = model(input_ids=torch.tensor([[token]]), past_key_values=past, use_cache=True)
        past = out.past_key_values
        rows.append(out.logits[0, -1].float())
    return torch.stack(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--steps", type=int, default=16)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    with open(os.path.join(args.checkpoint, "config.json")) as f:
        config = json.load(f)
    model = build_model(config)
    sd = state_dict(config, read_checkpoint(args.checkpoint))
    model.load_state_dict(sd, strict=True)

    prompt = [int(x) for x in args.prompt_ids.split(",")]
    logits = greedy_logits(model, prompt, args.steps)
    rows = list(logits)
    os.makedirs(args.out, exist_ok=True)
    logits.numpy().astype("<f4").tofile(os.path.join(args.out, args.name + ".logits.f32"))
    meta = {
        "name": args.name,
        "prompt_ids": prompt,
        "steps": args.steps,
        "vocab_size": int(logits.shape[1]),
        "tokens": [int(r.argmax()) for r in rows],
        "logits_std": [float(r.std()) for r in rows],
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "model_class": type(model).__name__,
    }
    with open(os.path.join(args.out, args.name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(args.name, meta["tokens"])


if __name__ == "__main__":
    main()
