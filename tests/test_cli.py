"""The command line end to end on the synthetic dataset: train, sweep, list, export, and clear errors."""
import os
import subprocess
import sys

import pytest

from core.runs import FINISHED, RunStore
from tests.conftest import ROOT

DATA = ["--dataset", "synthetic", "--dataset-option", "n_samples=300", "--dataset-option", "n_clusters=4",
        "--projection", "pca"]


def cli(store, *args, check=True):
    env = {**os.environ, "DEEP_CLUSTERING_HOME": str(store)}
    done = subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_train_sweep_list_and_export(tmp_path):
    store_dir = tmp_path / "store"
    trained = cli(store_dir, "train", *DATA, "--algorithm", "ae_kmeans", "--set", "epochs=3", "--set",
                  "latent_dim=4", "--name", "from the CLI", "--tag", "cli")
    assert "run 1 finished" in trained.stdout and "epoch 3/3" in trained.stdout

    swept = cli(store_dir, "sweep", *DATA, "--algorithm", "kmeans", "--vary", "n_clusters=3,4", "--vary", "seed=0,1",
                "--quiet")
    assert "sweep 1 done" in swept.stdout and swept.stdout.count(": run ") == 4

    store = RunStore(store_dir)  # what the dashboard reads
    records = store.list_runs()
    assert [r.status for r in records] == [FINISHED] * 5
    first = store.get(1)
    assert (first.name, first.tags, first.config.params) == ("from the CLI", ["cli"], {"epochs": 3, "latent_dim": 4})
    swept_runs = store.list_runs(sweep_id=1)
    assert sorted((r.config.n_clusters, r.config.seed) for r in swept_runs) == [(3, 0), (3, 1), (4, 0), (4, 1)]
    assert store.sweeps.all()[0].axes == {"n_clusters": [3, 4], "seed": [0, 1]}

    repeated = cli(store_dir, "sweep", "--from-sweep", "1", "--quiet")
    assert "sweep 2 done" in repeated.stdout
    assert sorted((r.config.n_clusters, r.config.seed) for r in store.list_runs(sweep_id=2)) == [
        (3, 0), (3, 1), (4, 0), (4, 1)]

    listed = cli(store_dir, "runs", "--sweep", "1")
    assert listed.stdout.count("k-means on pixels") == 4 and "from the CLI" not in listed.stdout

    out = tmp_path / "out"
    exported = cli(store_dir, "export", "1", "--out", str(out))
    files = sorted(p.name for p in out.iterdir())
    assert files == ["run-1-ae_kmeans-synthetic-embedding.npz", "run-1-ae_kmeans-synthetic-labels.csv",
                     "run-1-ae_kmeans-synthetic-model.zip", "run-1-ae_kmeans-synthetic-report.html",
                     "run-1-ae_kmeans-synthetic-run.zip"], exported.stdout
    assert (out / "run-1-ae_kmeans-synthetic-labels.csv").read_text().count("\n") == 301

    # The autoencoder run 1 pretrained (convolutional: 16x16 images) is kept for reuse, listed and removable here too.
    listed = cli(store_dir, "autoencoders", "list").stdout
    assert "convolutional, latent 4, 3 epochs, on synthetic (300 images)" in listed and "1 pretrained autoencoder," in listed
    assert cli(store_dir, "autoencoders", "clear").stdout.strip() == "removed 1 pretrained autoencoders"
    assert "no pretrained autoencoders" in cli(store_dir, "autoencoders", "list").stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--set", "latent_dim=abc"], "Latent size takes whole numbers"),
    (["train", "--algorithm", "nope"], "unknown algorithm 'nope'"),
    (["train", *DATA, "--algorithm", "kmeans", "--n-clusters", "400"], "Number of clusters must be less than 300"),
    (["sweep", "--vary", "eps=1,2"], "'eps' is not a setting"),
    (["export", "7"], "there is no run 7"),
    (["autoencoders", "remove", "../runs"], "not a pretrained autoencoder's key"),
    (["autoencoders", "remove", "abc123"], "no pretrained autoencoder abc123"),
])
def test_bad_input_gets_a_one_line_error(tmp_path, args, message):
    import contextlib
    import io

    from core.cli import main

    if args[0] == "export":  # one in a real process: the entry point's exit code and stderr
        done = cli(tmp_path, *args, check=False)
        code, err = done.returncode, done.stderr
    else:  # the rest in this one (TensorFlow is imported once, not per case)
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            code = main(["--store", str(tmp_path), *args])
        err = buffer.getvalue()
    assert code == 2 and err.count("\n") == 1
    assert message in err and "Traceback" not in err


def test_the_command_shown_for_a_sweep_describes_the_same_grid():
    """The Sweeps page shows a command line for its grid; parsed back, it gives the same runs."""
    import shlex

    from core.cli import _base_config, build_parser, command_line
    from core.experiment import RunConfig
    from core.runs.runner import parse_axis_value, sweep_configs

    base = RunConfig(dataset="synthetic", algorithm="dec", n_clusters=4, seed=3, preprocessing="standardize",
                     dataset_options={"n_samples": 300, "n_clusters": 4, "noise": 0.15, "with_labels": True},
                     params={"epochs": 3, "batch_size": None, "tol": 0.01, "latent_dim": 10})
    axes = {"latent_dim": [4, 8], "seed": [0, 1]}
    words = shlex.split(command_line(base, axes))
    assert words[:4] == ["python", "-m", "core", "sweep"]
    args = build_parser().parse_args(words[3:])
    parsed_axes = {}
    for text in args.vary:
        name, values = text.split("=")
        parsed_axes[name] = [parse_axis_value(args.algorithm, name, v) for v in values.split(",")]
    assert parsed_axes == axes

    def comparable(config):  # the command omits settings at their defaults, which come out the same
        from core.algorithms import get_algorithm
        from core.data import DATASETS

        defaults = {p.name: p.default for p in get_algorithm(config.algorithm).params}
        options = {p.name: p.default for p in DATASETS[config.dataset].options}
        return config.__class__(**{**config.__dict__, "params": {**defaults, **config.params},
                                   "dataset_options": {**options, **config.dataset_options}})

    assert [comparable(c) for c in sweep_configs(_base_config(args), parsed_axes)] == \
        [comparable(c) for c in sweep_configs(base, axes)]
