#!/usr/bin/env python3
"""Compares a GPU run's logits (fd-run --dump-logits) with fd-ref's.

Prints, per step, max|dlogit| / std(reference row), both argmax tokens and
the reference's top-2 margin in units of its std; exits 1 if a token differs
where the reference margin is clear (> 0.05 std, the bf16-activation noise).
"""
import sys

import numpy as np

ref_path, got_path, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
ref = np.fromfile(ref_path, dtype="<f4").reshape(-1, vocab)
got = np.fromfile(got_path, dtype="<f4").reshape(-1, vocab)
if ref.shape != got.shape:
    sys.exit(f"row counts differ: reference {ref.shape[0]}, gpu {got.shape[0]}")
bad = 0
for r in range(ref.shape[0]):
    std = ref[r].std()
    rel = np.abs(ref[r] - got[r]).max() / std
    top2 = np.sort(ref[r])[-2:]
    margin = (top2[1] - top2[0]) / std
    same = ref[r].argmax() == got[r].argmax()
    bad += (not same) and margin > 0.05
    print(f"step {r:3d} rel {rel:.2e} ref {ref[r].argmax():6d} gpu {got[r].argmax():6d} "
          f"margin/std {margin:.3f}{'' if same else '  DIFFERENT'}")
print(f"{'FAIL' if bad else 'PASS'}: {ref.shape[0]} steps, {bad} clear-margin token mismatches")
sys.exit(1 if bad else 0)
