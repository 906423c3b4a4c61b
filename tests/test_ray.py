"""Sweeps on a Ray cluster (core.runs.ray_sweeps), on a local Ray instance of 2 CPUs: each point a Ray task whose
result is recorded in the local store as it ends, with the same record and files as a run made here; a task
cancelled is recorded cancelled, a task whose worker process is killed failed with the reason, and the others go
on. The command line's --ray and the dashboard's training process drive the same."""
import os
import shutil
import signal
import tempfile

import numpy as np
import pytest

from core.runs.ray_sweeps import PROGRESS, RayDriver, ray_installed, runtime_env

if not ray_installed():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Ray: pip install -r requirements-ray.txt")
    pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)", allow_module_level=True)

import ray  # noqa: E402

from core.algorithms import load_estimator  # noqa: E402
from core.cli import main  # noqa: E402
from core.experiment import RunConfig, prepare_data  # noqa: E402
from core.runs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, RunStore  # noqa: E402
from core.runs.runner import record_run, sweep_configs  # noqa: E402
from ui.worker import WARMUP_ENV, SweepJob, TrainingJob, TrainingWorker  # noqa: E402

# A 2-epoch autoencoder + k-means on 300 digits, projected with PCA (no UMAP to compile in each Ray worker).
BASE = RunConfig(dataset="digits", algorithm="ae_kmeans", n_samples=300, projection="pca", params={"epochs": 2})
LONG = 299  # epochs of the points killed and cancelled: they are still training when that happens


@pytest.fixture(scope="module")
def cluster():
    temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit in 107 characters
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, runtime_env=runtime_env(), log_to_driver=False,
             object_store_memory=200 * 2**20)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def test_a_sweep_on_ray_records_runs_as_made_here_a_killed_task_fails_and_a_cancelled_one_is_cancelled(
        cluster, tmp_path, digits):
    store = RunStore(tmp_path / "ray")
    axes = {"epochs": [2, LONG, LONG + 1]}
    configs = sweep_configs(BASE, axes)
    sweep_id = store.sweeps.create(BASE, axes)
    heard, cancel = [], set()

    def report(index, kind, payload):
        heard.append((index, kind))
        training = kind == PROGRESS and payload.phase == "pretrain"
        if training and index == 1 and (index, "killed") not in heard:
            heard.append((index, "killed"))
            os.kill(driver.workers[index][1], signal.SIGKILL)  # the worker process dies mid-training
        elif training and index == 2:
            cancel.add(index)

    driver = RayDriver(store, configs, [f"point {i}" for i in range(3)], sweep_id, dataset=digits, report=report,
                       stop_requests=lambda: cancel)
    outcomes = driver.run()

    for index in range(3):  # every point was queued, then ran, each in its turn
        kinds = [kind for i, kind in heard if i == index]
        assert kinds[0] == QUEUED and RUNNING in kinds, kinds
    runs = {record.name: record for record in store.list_runs(sweep_id=sweep_id)}
    assert {name: record.status for name, record in runs.items()} == {
        "point 0": FINISHED, "point 1": FAILED, "point 2": CANCELLED}
    assert "The Ray worker running it died" in runs["point 1"].message, runs["point 1"].message
    assert runs["point 2"].message == "Cancelled by the user."
    assert [(FINISHED if o is not None and not isinstance(o, Exception) else type(o).__name__) for o in outcomes] == [
        FINISHED, "RunFailed", "TrainingCancelled"]

    # The finished run is what record_run makes here of the same settings: its fields and files, and a model
    # that places the images where the saved embedding has them.
    local = RunStore(tmp_path / "here")
    here = local.get(record_run(configs[0], local, dataset=digits).run_id)
    there = runs["point 0"]
    assert there.id == outcomes[0].run_id
    for field in ("n_samples", "n_clusters", "estimator_params"):
        assert getattr(there, field) == getattr(here, field), field
    assert there.metrics.keys() == here.metrics.keys() and there.timings.keys() == here.timings.keys()
    # versions name the libraries the process had loaded: UMAP only where something in it projected before
    assert len(there.history) == len(here.history) == 2
    assert there.versions.keys() - {"umap"} == here.versions.keys() - {"umap"} and "device" in there.versions
    files = lambda run_dir: sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    assert files(store.run_dir(there.id)) == files(local.run_dir(here.id))
    loaded = store.load_result(there.id, digits)
    assert loaded.metrics.nmi == pytest.approx(there.scores["NMI"]) and len(loaded.frames) > 0
    _, X = prepare_data(configs[0], digits)
    model = load_estimator(store.run_dir(there.id) / "model")
    assert np.allclose(model.transform(X), store.embedding(there.id), atol=1e-4)

    # The autoencoder the cluster trained is kept here, and lent to the next run on the same images: reused.
    again = RayDriver(store, [configs[0]], ["reused"], None, dataset=digits).run()[0]
    assert "pretrained once before" in store.get(again.run_id).message


def test_the_command_line_sweeps_on_ray_a_line_per_run(cluster, tmp_path, capsys):
    code = main(["--store", str(tmp_path), "sweep", "--dataset", "digits", "--samples", "300", "--algorithm", "kmeans",
                 "--projection", "pca", "--vary", "n_clusters=8,10", "--ray", cluster])
    out = capsys.readouterr().out
    assert code == 0, out
    for point in ("[1/2] Number of clusters 8", "[2/2] Number of clusters 10"):
        lines = [line for line in out.splitlines() if line.startswith(point)]
        assert [line.split(": ", 1)[1].split(" ")[0].rstrip(":") for line in lines] == [
            "queued", "running", "finished"], out
    assert [r.status for r in RunStore(tmp_path).list_runs()] == [FINISHED, FINISHED]


def test_the_training_process_runs_a_sweep_queued_for_ray_there(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv(WARMUP_ENV, "0")
    store = RunStore(tmp_path)
    base = RunConfig(dataset="digits", algorithm="kmeans", n_samples=300, projection="pca")
    axes = {"n_clusters": [8, 10]}
    sweep_id = store.sweeps.create(base, axes)
    jobs = [TrainingJob(config, name=f"k {config.n_clusters}", sweep_id=sweep_id) for config in sweep_configs(base, axes)]
    worker = TrainingWorker(tmp_path)
    try:
        sweep = worker.submit_sweep(SweepJob(sweep_id, "on Ray", axes, jobs, ray_address=cluster))
        waiting = jobs[0].snapshot().waiting_for  # before its task starts: where it waits, not "another training"
        assert "Queued on the Ray cluster" in waiting or "Starting the training process" in waiting, waiting
        assert all(job.wait(120) for job in jobs), [job.snapshot() for job in jobs]
    finally:
        worker.close()
    assert sweep.snapshot().statuses == [FINISHED, FINISHED]
    assert sorted(job.run_id for job in jobs) == sorted(r.id for r in store.list_runs(sweep_id=sweep_id, status=FINISHED))
