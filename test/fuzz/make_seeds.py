#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (test/fuzz/corpus/<target>/).

usage: make_seeds.py BUILD_DIR     (needs fd-synth built there, and pip's xxhash)
The seeds are committed; this script records how they were made.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

import xxhash

here = os.path.dirname(os.path.abspath(__file__))
build = sys.argv[1]
corpus = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# safetensors: small files with every dtype the importer knows, and a
# header-only one (data region missing).
def safetensors(tensors, with_data=True, meta=None):
    header, data, off = {}, b"", 0
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, size in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + size]}
        data += bytes((i * 7 + len(name)) & 0xFF for i in range(size))
        off += size
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + (data if with_data else b"")


put("safetensors", "two-tensors", safetensors([("a.weight", "BF16", [4, 8], 64),
                                                ("b.qweight", "I32", [2, 4], 32)],
                                               meta={"format": "pt"}))
put("safetensors", "dtypes", safetensors([("f32", "F32", [3], 12), ("f16", "F16", [2, 2], 8),
                                          ("i64", "I64", [1], 8), ("u8", "U8", [5], 5),
                                          ("scalar", "F32", [], 4), ("empty", "BF16", [0, 4], 0)]))
put("safetensors", "header-only", safetensors([("x", "BF16", [16, 16], 512)], with_data=False))

# config.json: every preset and quantization fd-synth writes.
with tempfile.TemporaryDirectory() as tmp:
    n = 0
    for preset in ("tiny", "tiny-qwen3-moe", "qwen3.5-35b-a3b", "qwen3-30b-a3b"):
        for quant in ("autoround-int4", "gptq-int4", "gptq-int4-asym", "compressed-w4a16", "bf16"):
            for layout in ("multimodal", "causal"):
                if preset.startswith("qwen3-") or preset == "tiny-qwen3-moe":
                    if layout == "multimodal":
                        continue
                out = os.path.join(tmp, f"c{n}")
                r = subprocess.run([os.path.join(build, "bin", "fd-synth"), "--preset", preset,
                                    "--quant", quant, "--layout", layout, "--header-only",
                                    "-o", out], capture_output=True)
                if r.returncode == 0:
                    with open(os.path.join(out, "config.json"), "rb") as f:
                        put("model_config", f"{preset}-{quant}-{layout}.json", f.read())
                n += 1

# tokenizer: the HF comparison corpus, one text per file.
sys.path.insert(0, os.path.join(here, "..", "tokenizer"))
import compare_hf  # noqa: E402

for i, text in enumerate(compare_hf.corpus()):
    put("tokenizer", f"text-{i:02d}", text.encode("utf-8"))
put("tokenizer", "invalid-utf8", b"a\xc3 \xe0\x80 \xf0\x9f\x98 \xed\xa0\x80 \xff<|im_end|>")

# tokenizer.json: the bundled example's, and a minimal one.
with open(os.path.join(here, "..", "..", "examples", "tiny-qwen3.5-moe", "tokenizer.json"), "rb") as f:
    put("tokenizer_json", "tiny-qwen3.5", f.read())
put("tokenizer_json", "minimal", json.dumps({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
    "decoder": {"type": "ByteLevel"},
    "added_tokens": [{"id": 3, "content": "<s>", "special": True}]}))


# weights.fdw: a valid two-tensor file, and one with a tensor checksum off.
def fdw(tensors, break_checksum=False):
    entries, data = b"", b""
    for name, blob in tensors:
        off = len(data)
        check = xxhash.xxh3_64_intdigest(blob) ^ (1 if break_checksum else 0)
        entries += struct.pack("<96sQQQII4q", name.encode(), off, len(blob), check, 4, 1,
                               len(blob) // 2, 0, 0, 0)
        data += blob + b"\0" * (-len(blob) % 256)
    header = struct.pack("<8sIIQQQQQ72s", b"FDWEIGHT", 1, 160, len(tensors), 4096, len(data),
                         0x1234, xxhash.xxh3_64_intdigest(entries), b"\0" * 72)
    body = header + entries
    return body + b"\0" * (4096 - len(body)) + data


blobs = [("embed", bytes(range(256))), ("norm", bytes(200))]
put("weights", "two-tensors.fdw", fdw(blobs))
put("weights", "bad-checksum.fdw", fdw(blobs, break_checksum=True))

# Server requests: the first byte picks the endpoint (0 completions, 1 chat).
requests = [
    (0, {"prompt": "Hello", "max_tokens": 8, "temperature": 0}),
    (0, {"model": "m", "prompt": ["a", "b"], "stop": ["\n", "."], "seed": 3, "top_k": -1}),
    (0, {"prompt": [1, 2, 3], "stream": True, "top_p": 0.9, "min_p": 0.05}),
    (0, {"prompt": [[1, 2], "x"], "n": 1, "logprobs": None, "echo": False}),
    (1, {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}],
         "max_completion_tokens": 16, "chat_template_kwargs": {"enable_thinking": False}}),
    (1, {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}],
         "stream": True, "repetition_penalty": 1.1}),
    (1, {"messages": [{"role": "assistant", "content": None}], "frequency_penalty": 0}),
]
for i, (kind, body) in enumerate(requests):
    put("api_request", f"request-{i}", bytes([kind]) + json.dumps(body).encode())
print("seeds written to", corpus)
