"""The worker never takes the app down with it: a cancel during a step that cannot stop restarts it, a
killed worker is replaced and the queue goes on, "stop and keep" ends training and still saves the run,
queued jobs and sweeps cancel cleanly, and results come back by run id from the store. Each test checks
outcomes (statuses in the store, the next job finishing), never a duration."""
import os
import signal
import time

import numpy as np
import pytest

from core.experiment import RunConfig
from core.runs import RunStore
from core.runs import CANCELLED, FAILED, FINISHED
from ui.worker import SweepJob, TrainingJob, TrainingWorker


def until(condition, timeout=240.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def phase(job):
    event = job.snapshot().event
    return None if event is None else event.phase


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    os.environ["DEEP_CLUSTERING_WARMUP"] = "0"  # the spawned process reads it: UMAP compiles in the first run
    worker = TrainingWorker(tmp_path_factory.mktemp("store"), grace_seconds=0.5)
    try:
        yield worker
    finally:
        worker.close()
        os.environ.pop("DEEP_CLUSTERING_WARMUP", None)


def deep(epochs=300, **params):
    return RunConfig(dataset="digits", algorithm="ae_kmeans", projection=None,
                     params={"epochs": epochs, "latent_dim": 8, **params})


def test_cancel_during_umap_stops_the_worker_records_cancelled_and_the_queue_goes_on(worker):
    store = RunStore(worker.store_dir)
    umap = worker.submit(TrainingJob(RunConfig(dataset="digits", algorithm="kmeans", projection="umap")))
    queued = worker.submit(TrainingJob(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=8, projection="pca")))
    until(lambda: phase(umap) == "project", what="the UMAP projection")  # compiling, then projecting: no report point
    before = worker.pid
    umap.cancel()
    assert umap.status == CANCELLED  # at once, for the page
    until(lambda: queued.done, what="the queued run")
    assert queued.status == FINISHED, queued.error
    assert worker.pid != before and worker.restarts >= 1
    assert store.get(umap.run_id).status == CANCELLED and "Cancelled by the user" in store.get(umap.run_id).message
    result = queued.read_result()  # read back from the store by run id
    assert result.run_id == queued.run_id and len(result.labels) == 1797 and result.n_clusters == 8


def test_a_killed_worker_is_replaced_its_run_failed_with_the_reason_and_the_queue_goes_on(worker):
    store = RunStore(worker.store_dir)
    victim = worker.submit(TrainingJob(deep()))
    behind = worker.submit(TrainingJob(RunConfig(dataset="digits", algorithm="kmeans", projection=None)))
    until(lambda: phase(victim) == "pretrain" and victim.run_id is not None, what="pretraining")
    os.kill(worker.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    until(lambda: victim.done, what="the crash to be seen")
    assert victim.status == FAILED and "stopped unexpectedly (it was killed)" in victim.error
    until(lambda: behind.done, what="the run queued behind")
    assert behind.status == FINISHED, behind.error
    record = store.get(victim.run_id)
    assert record.status == FAILED and "ran out of memory" in record.message


def test_stop_and_keep_ends_training_early_and_saves_a_clustered_run(worker):
    from sklearn.metrics import normalized_mutual_info_score

    store = RunStore(worker.store_dir)
    job = worker.submit(TrainingJob(deep()))
    until(lambda: job.losses and job.losses[-1]["epoch"] >= 3, what="three epochs")
    job.stop_early()
    until(lambda: job.done, what="the early stop")
    assert job.status == FINISHED, job.error
    record = store.get(job.run_id)
    assert 3 <= len(record.history) < 300 and "Stopped early by the user" in record.message
    result = job.read_result()
    assert len(np.unique(result.labels)) == 10
    assert normalized_mutual_info_score(result.dataset.labels, result.labels) > 0.3  # it learned something


def test_cancelling_a_queued_job_and_a_sweep(worker):
    store = RunStore(worker.store_dir)
    first = worker.submit(TrainingJob(deep()))
    waiting = worker.submit(TrainingJob(RunConfig(dataset="digits", algorithm="kmeans", projection=None)))
    until(lambda: phase(first) == "pretrain", what="pretraining")
    pid = worker.pid
    waiting.cancel()
    assert waiting.status == CANCELLED and not first.done  # the running one is not touched
    first.cancel()  # stops at its next batch, within the grace period: no restart needed
    until(lambda: first._worker_done.is_set(), what="the worker to stop the run")
    assert store.get(first.run_id).status == CANCELLED and waiting.run_id is None
    assert worker.pid == pid

    base = deep()
    sweep_id = store.sweeps.create(base, {"latent_dim": [4, 6, 8]})
    jobs = [TrainingJob(RunConfig(**{**base.__dict__, "params": {**base.params, "latent_dim": d}}), sweep_id=sweep_id)
            for d in (4, 6, 8)]
    sweep = worker.submit_sweep(SweepJob(sweep_id, "test sweep", {"latent_dim": [4, 6, 8]}, jobs))
    until(lambda: jobs[0].run_id is not None and phase(jobs[0]) == "pretrain", what="the sweep's first run")
    sweep.cancel()
    assert sweep.snapshot().cancelled == 3
    until(lambda: jobs[0]._worker_done.is_set(), what="the sweep's run to stop")
    recorded = store.list_runs(sweep_id=sweep_id)
    assert [r.status for r in recorded] == [CANCELLED]  # the queued points never started
    after = worker.submit(TrainingJob(RunConfig(dataset="digits", algorithm="kmeans", projection=None)))
    until(lambda: after.done, what="a run after the cancelled sweep")
    assert after.status == FINISHED
