"""Writes tests/data/old_store/: a small run store saved by the code as it was before estimators saved and
loaded themselves (issue 18), so that tests can prove such runs still open, show and place new images.

It was run once, with the code of commit 17e507f (the store format of every release up to then):

    git worktree add /tmp/old 17e507f && cd /tmp/old && python tests/data/make_old_store.py /path/to/old_store

and the folder it wrote is committed. Do not run it again with later code: the point of the fixture is
that it was not written by the code that reads it. Networks are made small (a few filters) so that the
whole store stays under 2 MB; everything else is as the app saves a run.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import core  # noqa: E402,F401  (quiet TensorFlow)
from core.algorithms.autoencoder import _AutoencoderClustering  # noqa: E402
from core.algorithms.dec import DCEC  # noqa: E402
from core.experiment import RunConfig  # noqa: E402
from core.runs import RunStore  # noqa: E402
from core.runs.runner import record_run  # noqa: E402

SMALL_FILTERS = (4, 8, 8)
DATA = {"n_samples": 120, "n_clusters": 3}  # 16x16 synthetic shapes: the convolutional autoencoder
DEEP = {"latent_dim": 3, "epochs": 2}
RUNS = [
    ("kmeans", {}),
    ("gmm", {}),
    ("agglomerative", {}),
    ("ae_kmeans", DEEP),
    ("ae_gmm", DEEP),
    ("dec", {**DEEP, "cluster_epochs": 2}),
    ("dcec", {**DEEP, "cluster_epochs": 2}),
    ("vade", {**DEEP, "vade_epochs": 2}),
    ("som", {**DEEP, "grid_rows": 3, "grid_cols": 3, "som_epochs": 3}),
    ("n2d", DEEP),
]


def main(target: Path) -> None:
    _AutoencoderClustering.filters = SMALL_FILTERS
    DCEC.__init__.__kwdefaults__["filters"] = SMALL_FILTERS
    shutil.rmtree(target, ignore_errors=True)
    store = RunStore(target)
    for algorithm, params in RUNS:
        config = RunConfig(dataset="synthetic", algorithm=algorithm, n_clusters=3, seed=0, params=params,
                           dataset_options=DATA, projection="pca")
        result = record_run(config, store, name=f"old {algorithm}")
        print(f"run {result.run_id}: {algorithm}, NMI {result.metrics.nmi:.3f}")
    shutil.rmtree(target / "autoencoders", ignore_errors=True)  # pretrained networks are kept apart, not needed


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("old_store")))
