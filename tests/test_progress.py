"""A run's progress bar tells the truth: it moves through every phase, classical fits included."""
import numpy as np

from core.experiment import RunConfig, run_experiment
from core.progress import ProgressEvent, RunProgress
from core.progress import ProgressThrottle


def test_run_progress_weights_phases_and_never_goes_back():
    seen = []
    progress = RunProgress(seen.append, [("load", 1), ("pretrain", 8), ("cluster", 1)])
    for phase, fraction in [("load", 0.0), ("load", 1.0), ("pretrain", 0.5), ("pretrain", 1.0), ("cluster", 0.0),
                            ("unknown", 0.3), ("cluster", 1.0)]:
        progress(ProgressEvent(phase, "", fraction))
    assert [round(e.overall, 2) for e in seen] == [0.0, 0.1, 0.5, 0.9, 0.9, 0.9, 1.0]


def collect(config, dataset=None):
    events = []
    run_experiment(config, callback=events.append, dataset=dataset)
    overall = np.array([e.overall for e in events])
    assert (np.diff(overall) >= 0).all(), "the bar went back"
    assert overall[-1] == 1.0
    return events


def test_a_classical_run_reports_its_clustering_between_start_and_end(digits):
    events = collect(RunConfig(dataset="digits", algorithm="agglomerative", projection="pca"), digits)
    clustering = [e for e in events if e.phase == "cluster"]
    assert clustering and clustering[0].message.startswith("Clustering the pixels with agglomerative")
    assert 0.0 < clustering[0].overall < 0.9, "a classical fit leaves the bar empty or full while it runs"


def test_the_bar_is_not_full_while_a_deep_method_still_clusters(synthetic):
    config = RunConfig(dataset="synthetic", algorithm="ae_kmeans", params={"epochs": 2, "latent_dim": 4},
                       projection="pca", dataset_options=dict(n_samples=300, n_clusters=4, image_size=12, seed=1))
    events = collect(config, synthetic)
    clustering = [e for e in events if e.phase == "cluster" and e.fraction == 0.0]
    assert clustering and clustering[0].overall < 0.95
    last_epoch = [e for e in events if e.phase == "pretrain"][-1]
    assert last_epoch.overall < 0.95


def test_the_worker_never_drops_the_event_that_starts_a_phase():
    throttle = ProgressThrottle(interval=0.1)
    assert throttle.passes(ProgressEvent("load", "Preparing the data", 0.0), now=10.0)
    assert throttle.passes(ProgressEvent("cluster", "Clustering the pixels with DBSCAN", 0.0), now=10.01)
    assert not throttle.passes(ProgressEvent("cluster", "Clustering the pixels with DBSCAN", 0.0), now=10.02)
    assert throttle.passes(ProgressEvent("cluster", "Clustering the pixels with DBSCAN", 0.0), now=10.2)
