#!/usr/bin/env python3
"""Checks of the model executable's text commands (run -p, chat) on the CPU backend.

usage: text_cli.py MODEL_EXE FD_TOKENIZE OUT_DIR
Prints one line per check that passed; exits non-zero with the reason otherwise.
"""

import re
import subprocess
import sys

exe, fd_tokenize, out = sys.argv[1:4]
tok_json = f"{out}/tokenizer.json"


def run(args, stdin=None, ok=True):
    r = subprocess.run([exe] + args, input=stdin, capture_output=True)
    if ok and r.returncode != 0:
        sys.exit(f"FAIL: {args}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    if not ok and r.returncode == 0:
        sys.exit(f"FAIL: {args} should have failed")
    return r


def tokenize(text):
    r = subprocess.run([fd_tokenize, tok_json, text], capture_output=True, check=True)
    return r.stdout.decode().strip()


def decode(ids):
    r = subprocess.run([fd_tokenize, tok_json, "--decode", ",".join(map(str, ids))],
                       capture_output=True, check=True)
    return r.stdout.decode("utf-8")[:-1]


prompt = "The compiler reads the checkpoint"
# Greedy text = the greedy ids (the id path, checked against fd-ref
# elsewhere) decoded, up to the first stop token.
stops = {479, 481}  # <|endoftext|>, <|im_end|> of the tiny tokenizer
ids = run(["run", "-q", "--prompt-ids", tokenize(prompt), "-n", "24"]).stdout.split()
ids = [int(i) for i in ids]
text = run(["run", "-q", "-p", prompt, "--temperature", "0", "--max-tokens", "24"]).stdout
cut = next((i for i, t in enumerate(ids) if t in stops), len(ids))
want = decode(ids[:cut]) + "\n"
if text.decode("utf-8") != want:
    sys.exit(f"FAIL: greedy text {text!r} != decoded ids {want!r}")
print("greedy text equals the decoded greedy ids")

sampled = [run(["run", "-q", "-p", prompt, "--temperature", "1.0", "--top-k", "0",
                "--top-p", "1", "--max-tokens", "24", "--seed", s]).stdout for s in ("1", "1", "2")]
if sampled[0] != sampled[1] or sampled[0] == sampled[2]:
    sys.exit(f"FAIL: seeds: {sampled}")
print("same seed, same text; another seed, other text")

# Two turns: the second prefill is only the second turn's own tokens plus
# the first turn's last token (no re-prefill of the conversation).
r = run(["chat", "-q", "-v", "--temperature", "0", "--max-tokens", "6", "--system", "Be brief."],
        stdin=b"hello there\nand again\n")
lines = [l for l in r.stderr.decode().splitlines() if l.startswith("prefill:")]
fed = [int(re.match(r"prefill: (\d+) tokens", l).group(1)) for l in lines]
turn1 = ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n"
         "<|im_start|>assistant\n<think>\n")
# Turn 1 stops at 6 tokens (no stop token), so turn 2 closes it in full.
turn2 = "<|im_end|>\n<|im_start|>user\nand again<|im_end|>\n<|im_start|>assistant\n<think>\n"
want = [len(tokenize(turn1).split(",")), len(tokenize(turn2).split(","))]
if fed != want:
    sys.exit(f"FAIL: chat fed {fed} tokens per turn, expected {want}")
print("chat turn 2 fed only its own tokens")

# /reset: the same first message again gives the same answer as at first.
r = run(["chat", "-q", "--temperature", "0", "--max-tokens", "6"],
        stdin=b"hello there\n/reset\nhello there\n")
answers = r.stdout.decode("utf-8").split("\n")
if answers[0] != answers[1]:
    sys.exit(f"FAIL: after /reset {answers[1]!r} != {answers[0]!r}")
print("chat /reset starts over")

errors = [
    (["run", "-q", "-p", "x", "--prompt-ids", "1"], "excludes"),
    (["run", "-q"], "run: give a prompt: -p TEXT or --prompt-ids 1,2,3"),
    (["run", "-q", "-p", "x", "--ctx-size", "129"],
     "--ctx-size 129 exceeds the context the model was compiled for (128"),
    (["run", "-q", "-p", "word " * 200], "does not fit: 0 of the 128 context positions are used"),
    (["run", "-q", "-p", "x", "--top-p", "2"], "--top-p"),
]
for args, message in errors:
    r = run(args, ok=False)
    err = r.stderr.decode()
    if message not in err or len(err.strip().splitlines()) != 1:
        sys.exit(f"FAIL: {args[:3]}: expected one line with {message!r}, got {err!r}")
print("errors: ok")
