"""Whether two versions of the code give the same clusterings: compares the labels two runs of
bench/algorithms.py saved with --labels, run for run (same dataset, algorithm and seed).

    git worktree add /tmp/before <commit> && cp bench/algorithms.py /tmp/before/bench/
    (cd /tmp/before && .venv/bin/python bench/algorithms.py --datasets digits --seeds 0 1 2 --labels /tmp/labels-before)
    .venv/bin/python bench/algorithms.py --datasets digits --seeds 0 1 2 --labels /tmp/labels-after
    .venv/bin/python bench/same_labels.py /tmp/labels-before /tmp/labels-after

Prints, per run, whether the labels are identical, and else the share of images that agree and the NMI
between the two labellings (the issue's bar: the same labels, or NMI within 0.005 of each other's scores).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score


def main(before: Path, after: Path) -> int:
    print("| run | images | identical | agreement | NMI between the two |")
    print("|---|---|---|---|---|")
    differ = 0
    for path in sorted(before.glob("*.npy")):
        other = after / path.name
        if not other.exists():
            print(f"| {path.stem} | - | missing after | - | - |")
            differ += 1
            continue
        a, b = np.load(path), np.load(other)
        same = a.shape == b.shape and bool(np.array_equal(a, b))
        agreement = float(np.mean(a == b)) if a.shape == b.shape else float("nan")
        nmi = normalized_mutual_info_score(a, b) if a.shape == b.shape else float("nan")
        differ += not same
        print(f"| {path.stem} | {len(a):,} | {'yes' if same else 'no'} | {agreement:.4f} | {nmi:.4f} |")
    print(f"# {differ} of {len(list(before.glob('*.npy')))} runs differ")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
