#!/usr/bin/env python3
"""The model executable's OpenAI-compatible server, driven by a real HTTP client.

usage: server_client.py MODEL_EXE FD_TOKENIZE OUT_DIR
Starts `MODEL_EXE serve --port 0` on the CPU backend, checks every endpoint
and error against the CLI's own output, and prints one line per check.
"""

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time

exe, fd_tokenize, out = sys.argv[1:4]
tok_json = f"{out}/tokenizer.json"
QUEUE = 4


def die(msg):
    server.kill()
    print(server.stderr.read().decode(errors="replace"), file=sys.stderr)
    sys.exit(f"FAIL: {msg}")


server = subprocess.Popen([exe, "serve", "--device", "cpu", "--port", "0", "--queue", str(QUEUE),
                           "--max-body", "100000", "--ctx-size", "2048"],
                          stderr=subprocess.PIPE)
port = None
for line in server.stderr:
    m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
if port is None:
    die("the server did not start")
log = []
threading.Thread(target=lambda: log.extend(server.stderr), daemon=True).start()


def request(method, path, body=None, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, payload


def post(path, body):
    status, payload = request("POST", path, body)
    return status, json.loads(payload)


def stream(path, body):
    status, payload = request("POST", path, dict(body, stream=True))
    if status != 200:
        die(f"stream {path}: {status} {payload!r}")
    events = [l[len(b"data: "):] for l in payload.split(b"\n\n") if l.startswith(b"data: ")]
    if events[-1] != b"[DONE]":
        die(f"stream {path} did not end with [DONE]")
    chunks = [json.loads(e) for e in events[:-1]]
    key = "delta" if path.endswith("chat/completions") else None
    text = "".join((c["choices"][0]["delta"].get("content", "") if key else c["choices"][0]["text"])
                   for c in chunks)
    return text, chunks[-1]["choices"][0]["finish_reason"]


def cli(args, stdin=None):
    r = subprocess.run([exe] + args + ["--device", "cpu", "-q"], input=stdin, capture_output=True,
                       check=True)
    return r.stdout.decode("utf-8")


def tokenize(text):
    r = subprocess.run([fd_tokenize, tok_json, text], capture_output=True, check=True)
    return [int(x) for x in r.stdout.decode().strip().split(",")]


def decode(ids):
    r = subprocess.run([fd_tokenize, tok_json, "--decode", ",".join(map(str, ids))],
                       capture_output=True, check=True)
    return r.stdout.decode("utf-8")[:-1]


status, body = request("GET", "/health")
models = json.loads(request("GET", "/v1/models")[1])
if status != 200 or json.loads(body)["status"] != "ok" or models["data"][0]["id"] != "tiny-qwen3.5-moe" \
        or models["data"][0]["max_model_len"] != 2048:
    die(f"health / models: {body!r} {models}")
print("health and models: ok")

prompt = "The compiler reads the checkpoint"
want = cli(["run", "-p", prompt, "--temperature", "0", "--max-tokens", "24"])[:-1]
status, r = post("/v1/completions", {"model": "tiny-qwen3.5-moe", "prompt": prompt, "max_tokens": 24,
                                     "temperature": 0})
if status != 200 or r["choices"][0]["text"] != want:
    die(f"completion {r} != run -p {want!r}")
if r["usage"]["prompt_tokens"] != len(tokenize(prompt)):
    die(f"usage {r['usage']}")
text, finish = stream("/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0})
if text != want or finish != r["choices"][0]["finish_reason"]:
    die(f"streamed {text!r} ({finish}) != {want!r}")
# lm_eval's local-completions sends the prompt as a list.
status, r2 = post("/v1/completions", {"prompt": [prompt, "hello"], "max_tokens": 24, "temperature": 0})
if status != 200 or r2["choices"][0]["text"] != want or len(r2["choices"]) != 2:
    die(f"list prompt {r2}")
print("completions equal run -p, streamed or not, one prompt or a list")

chat_want = cli(["chat", "--no-think", "--temperature", "0", "--max-tokens", "16"], stdin=b"hi there\n")[:-1]
chat_body = {"messages": [{"role": "user", "content": "hi there"}], "max_tokens": 16, "temperature": 0,
             "chat_template_kwargs": {"enable_thinking": False}}
status, r = post("/v1/chat/completions", chat_body)
if status != 200 or r["choices"][0]["message"]["content"] != chat_want:
    die(f"chat {r} != chat CLI {chat_want!r}")
text, _ = stream("/v1/chat/completions", chat_body)
if text != chat_want:
    die(f"streamed chat {text!r} != {chat_want!r}")
print("chat completions equal the chat command, streamed or not")

# Stop strings: the text ends before the first occurrence.
stop = want[5:8]
cut = want[:want.find(stop)]
status, r = post("/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0, "stop": [stop]})
text, finish = stream("/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0,
                                          "stop": stop})
if r["choices"][0]["text"] != cut or r["choices"][0]["finish_reason"] != "stop" or text != cut \
        or finish != "stop":
    die(f"stop {stop!r}: {r['choices'][0]} / {text!r} {finish}, expected {cut!r}")
print("stop strings cut the text, streamed or not")

# A prompt that continues the previous prompt and completion is fed from
# where the engine stopped; the answer equals a fresh run of the whole.
p = tokenize(prompt)
g = [int(x) for x in cli(["run", "--prompt-ids", ",".join(map(str, p)), "-n", "4"]).split()]
post("/v1/completions", {"prompt": p, "max_tokens": 4, "temperature": 0})
longer = p + g + tokenize(" and more")
status, r = post("/v1/completions", {"prompt": longer, "max_tokens": 6, "temperature": 0})
fresh = [int(x) for x in cli(["run", "--prompt-ids", ",".join(map(str, longer)), "-n", "6"]).split()]
stops = {479, 481}
cut_ids = fresh[:next((i for i, t in enumerate(fresh) if t in stops), len(fresh))]
if r["choices"][0]["text"] != decode(cut_ids):
    die(f"continued prompt {r['choices'][0]['text']!r} != fresh {decode(cut_ids)!r}")
time.sleep(0.1)
reused = f"{len(longer)} prompt ({len(p) + len(g)} reused)".encode()
if not any(reused in l for l in log):
    die(f"the continued prompt was fed again: no log line with {reused!r}: {log[-3:]}")
print("a continued prompt equals a fresh run")

errors = [
    (None, b"{not json", 400, "the body is not valid JSON"),
    ({"prompt": "x", "model": "other"}, None, 404, "model 'other' not found"),
    ({"prompt": "x", "temperature": "hot"}, None, 400, "'temperature': expected a number"),
    ({"prompt": "x", "n": 2}, None, 400, "'n': must be in [1, 1]"),
    ({"prompt": "x", "logprobs": 5}, None, 400, "'logprobs': is not supported"),
    ({"prompt": "word " * 2100}, None, 400, "the context is 2048 positions"),
    ({"prompt": [99999]}, None, 400, "prompt token 99999 outside the vocabulary [0, 512)"),
    ({"max_tokens": 3}, None, 400, "'prompt': missing"),
    (None, b"x" * 200000, 413, "the request body is too large"),
]
for body, raw, code, message in errors:
    status, payload = request("POST", "/v1/completions", body, raw)
    err = json.loads(payload)["error"]
    if status != code or message not in err["message"] or err["code"] != code:
        die(f"{(body or raw)!r:.60}: {status} {payload!r}, expected {code} {message!r}")
status, payload = request("POST", "/v1/chat/completions", {"messages": [{"role": "tool", "content": "x"}]})
if status != 400 or "'messages[0].role': 'tool' is not supported" not in payload.decode():
    die(f"chat role: {status} {payload!r}")
print("bad requests: 400 / 404 / 413 with the reason")

# A client that goes away mid-stream: generation stops, the server serves on.
s = socket.create_connection(("127.0.0.1", port))
body = json.dumps({"prompt": prompt, "max_tokens": 2000, "temperature": 1.0, "stream": True}).encode()
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
s.recv(4096)
s.close()
time.sleep(0.5)
status, r = post("/v1/completions", {"prompt": prompt, "max_tokens": 24, "temperature": 0})
if status != 200 or r["choices"][0]["text"] != want:
    die("after a disconnect the server did not answer")
time.sleep(0.2)
# The last streamed completion in the log is the one cut off.
gone = [l for l in log if l.startswith(b"POST /v1/completions 200 (stream):")][-1:]
counts = [int(re.search(rb"\+ (\d+) generated", l).group(1)) for l in gone]
if not counts or counts[0] >= 2000:
    die(f"the disconnected stream was not stopped early: {gone}")
print("a client gone mid-stream stops its generation; the server serves on")

# 50 clients at once: each is answered, 200 or 503 (queue full), none lost.
results = []
lock = threading.Lock()


def client(i):
    try:
        status, payload = request("POST", "/v1/completions",
                                  {"prompt": f"client {i}", "max_tokens": 300, "temperature": 0.7,
                                   "seed": i})
        with lock:
            results.append(status)
    except Exception as e:  # noqa: BLE001
        with lock:
            results.append(repr(e))


threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if len(results) != 50 or set(results) - {200, 503} or 200 not in results or 503 not in results:
    die(f"50 clients: {sorted(map(str, results))}")
if request("GET", "/health")[0] != 200:
    die("the server died under load")
print(f"50 concurrent clients: {results.count(200)} served, {results.count(503)} told busy, none lost")

server.terminate()
if server.wait(timeout=10) != 0:
    die(f"exit status {server.returncode} after SIGTERM")
print("SIGTERM: clean exit")
