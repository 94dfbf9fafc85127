"""Checks report.json: the cost model's occupancy equals clang's for every AMD
launch and for every candidate instance the cost model weighed."""
import collections
import json
import sys

report = json.load(open(sys.argv[1]))
count, cands, bad, limits = collections.Counter(), collections.Counter(), [], set()
for k in report["kernels"]:
    if not k["target"].startswith("gfx"):
        continue
    count[k["target"]] += 1
    limits.add(k["occupancy_limited_by"])
    if abs(k["predicted_occupancy"] - k["occupancy"]) > 1e-9:
        bad.append(f'{k["target"]} {k["template"]} vgprs {k["vgprs"]}: predicted '
                   f'{k["predicted_occupancy"]}, clang {k["occupancy"]}')
for d in report.get("decisions", []):
    if not d["target"].startswith("gfx"):
        continue
    for c in d["candidates"]:
        cands[d["target"]] += 1
        limits.add(c["occupancy_limited_by"])
        if abs(c["predicted_occupancy"] - c["compiler_occupancy"]) > 1e-9:
            bad.append(f'{d["target"]} {d["template"]} {d["shape"]} candidate '
                       f'{c["ROWS"]}/{c["LANES"]}/{c["WAVES"]} registers '
                       f'{c["registers"]}: predicted {c["predicted_occupancy"]}, '
                       f'clang {c["compiler_occupancy"]}')
for target in sorted(count):
    print(f"{target}: {count[target]} launches and {cands[target]} candidates, "
          f"predicted == reported for {'all' if not bad else 'NOT all'}")
for limit in sorted(limits):
    print(f"limited by {limit}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
