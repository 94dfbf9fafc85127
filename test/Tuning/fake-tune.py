#!/usr/bin/env python3
"""A stand-in for fd-tune where no GPU is: reads the job compile-model wrote
and writes the tuning database fd-tune would, with made-up times chosen so
that the measured fastest is the candidate the job lists last (rarely the
model's pick). It also records those picks, and with --check compares them
with a compile's report.json.

  fake-tune.py JOB --db DIR
  fake-tune.py --check REPORT DIR TARGET
"""
import json
import os
import sys


def tune(job_path, db_dir):
    job = json.load(open(job_path))
    entries, expected = [], {}
    for shape in job["shapes"]:
        cands = shape["candidates"]
        measured = [
            {"ROWS": c["ROWS"], "LANES": c["LANES"], "WAVES": c["WAVES"],
             "us": 100.0 - i, "se_pct": 0.1, "replays": 5, "launches": 64}
            for i, c in enumerate(cands)
        ]
        entries.append({"key": shape["key"], "template": shape["template"],
                        "shape": shape["shape"], "measured": measured})
        last = cands[-1]
        expected[shape["shape"]] = [last["ROWS"], last["LANES"], last["WAVES"]]
    os.makedirs(db_dir, exist_ok=True)
    db = {"format": "fusedecode-tuning", "version": 1, "target": job["target"],
          "device": "fake", "templates_hash": job["templates_hash"],
          "compiler": job["compiler"], "entries": entries}
    with open(os.path.join(db_dir, job["target"] + ".json"), "w") as f:
        json.dump(db, f, indent=1)
    with open(os.path.join(db_dir, "expected-" + job["target"] + ".json"), "w") as f:
        json.dump(expected, f)


def check(report_path, db_dir, target):
    report = json.load(open(report_path))
    expected = json.load(open(os.path.join(db_dir, "expected-" + target + ".json")))
    seen = 0
    for d in report["decisions"]:
        if d["target"] != target:
            continue
        want = expected[d["shape"]]
        got = [d["chosen"]["ROWS"], d["chosen"]["LANES"], d["chosen"]["WAVES"]]
        if d["chosen_by"] != "measurement" or got != want:
            print(f"{d['shape']}: chosen {got} by {d['chosen_by']}, want {want}")
            sys.exit(1)
        seen += 1
    if seen != len(expected):
        print(f"{seen} decisions for {len(expected)} tuned shapes")
        sys.exit(1)
    print(f"{seen} shapes chosen by measurement")


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        tune(sys.argv[1], sys.argv[3])
