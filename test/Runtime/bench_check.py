"""Checks a `bench --json` report of the CPU backend against the plan.

The bytes per token are recomputed here from plan.json's buffers and the
checkpoint's config.json alone (not from the launches' traffic the compiler
wrote): every weight buffer once, the routed experts' k of E, the embedding
one row, the recurrent state read and written, the KV cache one position per
position of context plus the one written.
"""
import json
import sys

report = json.load(open(sys.argv[1]))
plan = json.load(open(sys.argv[2]))
config = json.load(open(sys.argv[3]))
text = config.get("text_config", config)
experts, topk = text["num_experts"], text["num_experts_per_tok"]
vocab = text["vocab_size"]

fixed = per_position = 0
for b in plan["buffers"]:
    if b["kind"] == "weight":
        if ".experts." in b["weight"]:
            fixed += b["size"] * topk // experts
        elif b["weight"] == "embed_tokens" and not text.get("tie_word_embeddings"):
            fixed += b["size"] // vocab
        else:
            fixed += b["size"]
    elif b["kind"] == "state":
        fixed += 2 * b["size"]
    elif b["kind"] == "kv_cache":
        per_token = b["size"] // plan["max_context"]
        fixed += per_token
        per_position += per_token
w = report["workload"]
context = w["input_len"] + w["output_len"] / 2
expected = fixed + per_position * context
got = report["bytes_per_token"]["total"]
assert abs(got - expected) <= 1e-9 * expected, (got, expected)
print(f"bytes per token equal the plan's buffers: {got:.0f}")
assert abs(sum(report["bytes_per_token"]["by_category"].values()) - got) < 1
d = report["decode_tok_s"]
assert 0 < d["min"] <= d["median"] <= d["max"], d
assert abs(report["tpot_ms"]["median"] - 1000 / d["median"]) < 1e-6 * report["tpot_ms"]["median"] * 1000
assert report["ttft_ms"]["median"] > 0 and report["load_seconds"] > 0
assert report["bandwidth_bytes_s"] is None and "roofline_tok_s" not in report
print(f"decode {d['min']:.0f} <= {d['median']:.0f} <= {d['max']:.0f} tok/s over "
      f"{w['num_prompts']} prompts")
