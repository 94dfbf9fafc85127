#!/usr/bin/env python3
"""The byte count and template of each launch of a plan's decode step, one
launch a line ("BYTES TEMPLATE"), for bench/probe_stages.cu: each launch's
traffic (plan.json, written by the compiler) with the per-position part taken
at --context positions.

    python3 bench/plan_stages.py OUT/plan.json [--context 192] > stages.txt
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--context", type=int, default=192,
                    help="positions of KV the attention launches read (the "
                         "128/128 workload's mean decode context is 192)")
    a = ap.parse_args()
    with open(a.plan) as f:
        plan = json.load(f)
    launches = plan.get("decode")
    if not isinstance(launches, list) or not launches:
        sys.exit(f"plan_stages.py: {a.plan}: no decode launches")
    for i, launch in enumerate(launches):
        traffic = launch.get("traffic")
        if traffic is None:
            sys.exit(f"plan_stages.py: {a.plan}: launch {i} "
                     f"({launch.get('template')}) has no traffic")
        total = sum(t["bytes"] + t.get("per_position", 0) * a.context
                    for t in traffic)
        print(total, launch.get("template", "?"))


if __name__ == "__main__":
    main()
