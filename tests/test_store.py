"""The run store: every artifact round-trips, killed writers leave it readable, interrupted runs are
marked, older schemas migrate, and the comparison helpers work on real runs."""
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core.experiment import RunConfig
from core.runs import FAILED, FINISHED, INTERRUPTED, RUNNING, RunNotFound, RunStore, StoreError
from core.runs.schema import MIGRATIONS, SCHEMA_VERSION
from tests.conftest import ROOT

SYNTHETIC = {"n_samples": 300, "n_clusters": 4, "image_size": 12, "seed": 1}


def deep_config(**params) -> RunConfig:
    return RunConfig(dataset="synthetic", algorithm="dec", dataset_options=SYNTHETIC, projection="pca",
                     params={"epochs": 4, "cluster_epochs": 2, "latent_dim": 4, **params})


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A store holding one finished DEC run (model, view data, history: every kind of artifact)."""
    from core.runs.runner import record_run

    store = RunStore(tmp_path_factory.mktemp("store"))
    result = record_run(deep_config(), store, name="dec run", tags=["a", "b"])
    return store, result


def test_round_trip_of_every_artifact(recorded):
    store, result = recorded
    record = store.get(result.run_id)
    assert record.status == FINISHED and record.name == "dec run" and record.tags == ["a", "b"]
    assert record.config == result.config
    assert record.history == json.loads(json.dumps(result.history)) and len(record.history) >= 4
    assert set(record.timings) == set(result.timings) and record.duration > 0
    assert {"python", "numpy", "tensorflow", "keras"} <= set(record.versions)
    assert record.scores["NMI"] == pytest.approx(result.metrics.nmi)

    loaded = store.load_result(result.run_id)
    assert loaded.run_id == result.run_id
    np.testing.assert_array_equal(loaded.labels, result.labels)
    np.testing.assert_allclose(loaded.embedding, result.embedding, rtol=1e-6)
    np.testing.assert_allclose(loaded.projections["pca"], result.projections["pca"], rtol=1e-6)
    np.testing.assert_array_equal(loaded.dataset.indices, result.dataset.indices)
    assert loaded.metrics == result.metrics
    assert set(loaded.view_data) == set(result.view_data) and "confidence" in loaded.view_data
    for key, value in result.view_data.items():
        np.testing.assert_allclose(np.asarray(loaded.view_data[key]), np.asarray(value), rtol=1e-6)

    folder = store.run_dir(result.run_id)
    assert (folder / "preview.png").stat().st_size > 0
    import keras

    from core.experiment import prepare_data

    encoder = keras.models.load_model(folder / "model" / "encoder.keras")
    _, X = prepare_data(result.config)
    np.testing.assert_allclose(encoder.predict(X.reshape(len(X), -1), verbose=0), result.embedding, atol=1e-4)
    with np.load(folder / "model" / "state.npz") as state:
        assert state["cluster_centers_"].shape == (4, 4)


def test_exports_of_a_run(recorded):
    import io
    import zipfile

    import pandas as pd

    from core.runs.export import arrays_npz, labels_csv, model_zip

    store, result = recorded
    table = pd.read_csv(io.BytesIO(labels_csv(result)))
    assert list(table.columns) == ["index", "cluster", "confidence", "true_label"]
    assert len(table) == 300 and table["confidence"].between(0, 1).all()
    np.testing.assert_array_equal(table["cluster"], result.labels)
    with np.load(io.BytesIO(arrays_npz(result))) as arrays:
        assert arrays["embedding"].shape == (300, 4) and arrays["projection_pca"].shape == (300, 2)
    names = zipfile.ZipFile(io.BytesIO(model_zip(store, result.run_id))).namelist()
    assert {"encoder.keras", "decoder.keras", "state.npz", "params.json", "README.txt"} <= set(names)


def test_failed_and_cancelled_runs_are_recorded_with_their_message(tmp_path):
    from core.progress import TrainingCancelled
    from core.runs.runner import record_run

    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="Number of clusters must be less than 300"):
        record_run(RunConfig(dataset="synthetic", algorithm="kmeans", n_clusters=500, dataset_options=SYNTHETIC), store)
    assert store.list_runs() == []  # a configuration that cannot run is refused before it is recorded

    def fail_at_first_epoch(event):
        if event.end_of_epoch:
            raise RuntimeError("the disk vanished")

    def cancel_at_second_epoch(event):
        if event.end_of_epoch and event.epoch >= 2:
            raise TrainingCancelled()

    with pytest.raises(RuntimeError):
        record_run(deep_config(epochs=50), store, callback=fail_at_first_epoch)
    with pytest.raises(TrainingCancelled):
        record_run(deep_config(epochs=50), store, callback=cancel_at_second_epoch)
    cancelled, failed = store.list_runs()
    assert failed.status == FAILED and failed.message == "the disk vanished" and len(failed.history) == 1
    assert cancelled.status == "cancelled" and [h["epoch"] for h in cancelled.history] == [1, 2]
    with pytest.raises(ValueError, match="only finished runs"):
        store.load_result(cancelled.id)


def test_rename_tag_and_delete(tmp_path):
    store = RunStore(tmp_path)
    config = RunConfig(dataset="synthetic", algorithm="kmeans", dataset_options=SYNTHETIC)
    run_id = store.start_run(config)
    assert store.get(run_id).name.endswith(f"#{run_id}")
    with pytest.raises(ValueError, match="still running"):
        store.delete(run_id)
    store.end_run(run_id, FAILED, message="boom")
    store.rename(run_id, "  my run ")
    store.set_tags(run_id, ["x", " y ", "x", ""])
    assert (store.get(run_id).name, store.get(run_id).tags) == ("my run", ["x", "y"])
    assert store.all_tags() == ["x", "y"]
    with pytest.raises(ValueError):
        store.rename(run_id, " ")
    store.delete(run_id)
    with pytest.raises(RunNotFound):
        store.get(run_id)


WRITER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    import core.runs.artifacts as artifacts
    from core.experiment import run_experiment, RunConfig
    from core.runs import RunStore
    store = RunStore({path!r})
    result = run_experiment(RunConfig(dataset="synthetic", algorithm="kmeans", projection="pca",
                                      dataset_options={options!r}))
    for _ in range(2):
        store.finish_run(store.start_run(result.config), result, result.estimator)
    write_model = artifacts.write_model

    def killed_mid_write(directory, estimator):  # the kill lands with half the files written, every time
        write_model(directory, estimator)
        os.kill(os.getpid(), signal.SIGKILL)

    artifacts.write_model = killed_mid_write
    store.finish_run(store.start_run(result.config), result, result.estimator)
""")


def test_a_killed_writer_leaves_the_store_readable(tmp_path):
    script = WRITER.format(root=str(ROOT), path=str(tmp_path), options=SYNTHETIC)
    writer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert writer.returncode == -signal.SIGKILL, writer.stderr
    assert list(tmp_path.glob("runs/.partial-*")), "the kill did not land while the run's files were written"

    store = RunStore(tmp_path)  # opening marks the run the writer was in as interrupted
    records = store.list_runs()
    assert [r.status for r in records] == [INTERRUPTED, FINISHED, FINISHED]
    assert "stopped before the run finished" in records[0].message
    assert not store.run_dir(records[0].id).exists()
    for record in records[1:]:
        assert len(store.load_result(record.id).labels) == 300
    assert not list(store.artifacts_root.glob(".partial-*")), "partial artifacts left behind"


def test_a_run_whose_files_cannot_be_saved_is_recorded_failed_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    import core.runs.artifacts as artifacts
    from core.runs.runner import record_run

    def disk_full(directory, estimator):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifacts, "write_model", disk_full)
    store = RunStore(tmp_path)
    with pytest.raises(OSError):
        record_run(RunConfig(dataset="synthetic", algorithm="kmeans", projection="pca", dataset_options=SYNTHETIC),
                   store)
    (record,) = store.list_runs()
    assert record.status == FAILED and "could not be saved" in record.message and "No space left" in record.message
    assert not store.run_dir(record.id).exists() and not list(store.artifacts_root.glob(".partial-*"))


def test_running_runs_of_a_dead_process_are_marked_interrupted_and_live_ones_are_not(tmp_path):
    script = textwrap.dedent(f"""
        import sys, os
        sys.path.insert(0, {str(ROOT)!r})
        from core.experiment import RunConfig
        from core.runs import RunStore
        RunStore({str(tmp_path)!r}).start_run(RunConfig(dataset="digits", algorithm="kmeans"), name="orphan")
        os._exit(0)  # die without ending the run, as a killed server would
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    store = RunStore(tmp_path)
    mine = store.start_run(RunConfig(dataset="digits", algorithm="kmeans"), name="alive")
    RunStore(tmp_path)  # a second open (a new server) sees this process alive
    statuses = {r.name: r.status for r in store.list_runs()}
    assert statuses == {"orphan": INTERRUPTED, "alive": RUNNING}
    assert store.get(mine).status == RUNNING


def test_a_store_of_the_previous_schema_is_migrated(tmp_path):
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:  # a version-1 store with one run
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO runs (name, dataset, algorithm, config, status, started_at, ended_at, host, pid) "
                   "VALUES ('old run', 'digits', 'kmeans', ?, 'failed', '2026-01-01T00:00:00+00:00', "
                   "'2026-01-01T00:01:00+00:00', 'h', 1)", (json.dumps({"dataset": "digits", "algorithm": "kmeans"}),))
    store = RunStore(tmp_path)
    assert store.schema_version == SCHEMA_VERSION == 4
    (old,) = store.list_runs()
    assert (old.name, old.tags, old.sweep_id, old.duration, old.heartbeat) == ("old run", [], None, 60.0, None)
    assert (old.parent_id, old.changes, old.cluster_names) == (None, [], {})  # version 4: hand corrections
    assert store.drafts.get(old.id) == (None, 0)
    sweep = store.sweeps.create(old.config, {"seed": [0, 1]})  # the table added by version 2
    assert store.sweeps.all()[0].id == sweep


def test_a_newer_or_broken_store_is_refused_with_a_clear_message(tmp_path):
    newer = tmp_path / "newer"
    newer.mkdir()
    with sqlite3.connect(newer / "runs.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version"):
        RunStore(newer)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "runs.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable run store"):
        RunStore(broken)


def test_sweep_grid_and_its_validation():
    from core.runs.runner import sweep_configs

    base = RunConfig(algorithm="ae_kmeans", params={"epochs": 5})
    grid = sweep_configs(base, {"latent_dim": [4, 8], "n_clusters": [8, 10, 12]})
    assert [(c.params["latent_dim"], c.n_clusters) for c in grid] == [
        (4, 8), (4, 10), (4, 12), (8, 8), (8, 10), (8, 12)]
    assert all(c.params["epochs"] == 5 for c in grid)
    with pytest.raises(ValueError, match="not a setting"):
        sweep_configs(base, {"eps": [0.1]})
    with pytest.raises(ValueError, match="one or two"):
        sweep_configs(base, {"seed": [0], "n_clusters": [2], "latent_dim": [3], "epochs": [1]})
    # two settings and the seed: the grid repeated over seeds
    assert len(sweep_configs(base, {"n_clusters": [2, 3], "latent_dim": [3], "seed": [0, 1, 2]})) == 6
    with pytest.raises(ValueError, match="repeat"):
        sweep_configs(base, {"seed": [1, 1]})


def test_matching_two_runs_recovers_a_relabelling(digits):
    from core.metrics import match_clusters, relabel
    from core.runs.compare import agreement

    labels = digits.labels
    permuted = (labels + 3) % 10
    mapping = match_clusters(labels, permuted)
    np.testing.assert_array_equal(relabel(permuted, mapping), labels)
    assert agreement(labels, permuted) == pytest.approx(1.0)
    noisy = permuted.copy()
    noisy[:100] = -1  # noise stays noise; an extra cluster gets a fresh colour id
    noisy[100:110] = 42
    relabelled = relabel(noisy, match_clusters(labels, noisy))
    assert (relabelled[:100] == -1).all() and len(set(relabelled[100:110])) == 1 and relabelled[100] >= 10
    with pytest.raises(ValueError, match="different images"):
        match_clusters(labels, labels[:-1])
