"""Checks report.json: predicted_occupancy == occupancy for every AMD launch."""
import collections
import json
import sys

report = json.load(open(sys.argv[1]))
count, bad, limits = collections.Counter(), [], set()
for k in report["kernels"]:
    if not k["target"].startswith("gfx"):
        continue
    count[k["target"]] += 1
    limits.add(k["occupancy_limited_by"])
    if abs(k["predicted_occupancy"] - k["occupancy"]) > 1e-9:
        bad.append(f'{k["target"]} {k["template"]} vgprs {k["vgprs"]}: predicted '
                   f'{k["predicted_occupancy"]}, clang {k["occupancy"]}')
for target in sorted(count):
    print(f"{target}: {count[target]} launches, predicted == reported for "
          f"{'all' if not bad else 'NOT all'}")
for limit in sorted(limits):
    print(f"limited by {limit}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
