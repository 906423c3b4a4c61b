"""Scores without labels: the UMAP silhouette every run carries, stability over seeds, and the criteria of the
cluster-count scan, on real data (scikit-learn's digits, three obvious groups of colour images)."""
import json

import numpy as np
import pytest

from bench.algorithms import colour_shapes
from core.experiment import RunConfig, run_experiment
from core.metrics import METRICS, RANKING_METRICS, metric_report_from_record, stability
from core.model_selection import ClusterCountSweep, sweep_cluster_counts
from core.runs.records import InvalidRecord, finished_fields
from core.vocabulary import METRIC_HELP, umap_silhouette_note


@pytest.fixture(scope="module")
def digits_run():
    return run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_samples=600, projection="umap"))


def test_a_kmeans_run_on_digits_carries_its_umap_silhouette_and_a_random_labelling_scores_far_lower(digits_run):
    scores = digits_run.metrics.as_dict()
    assert list(scores) == list(METRICS) and set(METRIC_HELP) == set(METRICS)
    good = scores["UMAP silhouette"]
    assert good > 0.3, good   # ten digit groups, well apart on the map of the images
    scrambled = digits_run.with_labels(np.random.default_rng(0).permutation(digits_run.labels))
    assert scrambled.metrics.umap_silhouette.score < good - 0.3  # the same cluster sizes, drawn at random
    assert scrambled.metrics.umap_silhouette.space == digits_run.metrics.umap_silhouette.space
    assert "2-D UMAP of the images" in umap_silhouette_note(digits_run.metrics)
    # NMI first where there are labels, then this score, then the silhouette of a run without a UMAP
    assert RANKING_METRICS == ("NMI", "UMAP silhouette", "Silhouette")


def test_the_score_is_stored_with_the_run_and_records_made_before_it_still_open(digits_run):
    record = digits_run.metrics.to_record()
    fields = finished_fields(n_samples=600, n_clusters=10, history=[], metrics=record, timings={"cluster": 1.0},
                             versions={}, estimator_params={})
    assert metric_report_from_record(json.loads(fields["metrics"])) == digits_run.metrics
    older = {name: value for name, value in record.items() if name != "umap_silhouette"}
    assert metric_report_from_record(older).as_dict()["UMAP silhouette"] is None
    assert umap_silhouette_note(metric_report_from_record(older)) == ""
    edited = dict(record, umap_silhouette=dict(record["umap_silhouette"], score=3.0))
    with pytest.raises(InvalidRecord, match="umap_silhouette"):
        finished_fields(n_samples=600, n_clusters=10, history=[], metrics=edited, timings={}, versions={},
                        estimator_params={})


def test_a_hand_correction_of_a_saved_run_is_scored_again_on_the_map_kept_with_it():
    from core.runs import RunStore
    from core.runs.runner import record_run

    store = RunStore()  # $DEEP_CLUSTERING_HOME, a temporary folder for the test session (conftest)
    made = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_samples=300, projection="umap"), store)
    saved = store.load_result(made.run_id)
    assert saved.metrics.umap_silhouette == made.metrics.umap_silhouette
    again = saved.with_labels(saved.labels)  # as a correction in the web server: no UMAP computed there
    assert again.metrics.umap_silhouette.score == pytest.approx(made.metrics.umap_silhouette.score)


def test_a_run_projected_with_pca_has_no_umap_silhouette_and_says_why():
    result = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_samples=300, projection="pca"))
    assert result.metrics.as_dict()["UMAP silhouette"] is None
    assert "projected with PCA" in umap_silhouette_note(result.metrics)


def test_stability_is_one_for_the_same_clusters_renamed_and_refuses_other_images():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    renamed = np.array([5, 5, 0, 0, 1, 1, 1])
    assert stability([labels, renamed, labels]) == pytest.approx(1.0)
    other = np.array([0, 1, 0, 1, 0, 1, 2])
    assert stability([labels, other]) < 0.2
    with pytest.raises(ValueError, match="different images"):
        stability([labels, labels[:-1]])
    with pytest.raises(ValueError, match="at least two"):
        stability([labels])


def test_the_scan_of_three_obvious_groups_suggests_three_and_says_how_far_the_criteria_agree():
    data = colour_shapes()  # red discs, green squares and blue stripes on noisy backgrounds: 300 colour images
    result = run_experiment(RunConfig(dataset="colour_shapes", algorithm="kmeans", n_clusters=3), dataset=data)
    sweep = sweep_cluster_counts(result.embedding, range(2, 6), umap_points=result.projections["umap"])
    assert [c.name for c in sweep.criteria][0] == "UMAP silhouette"
    assert sweep.suggested == 3 and sweep.suggestion == "Suggested: 3 clusters (highest UMAP silhouette)."
    agreeing = sum(c.best == 3 for c in sweep.criteria)
    assert sweep.agreement.startswith(f"{agreeing} of 4 criteria suggest 3" if agreeing > 1 else
                                      "Only the UMAP silhouette suggests 3")
    assert sweep.edge_notes == [c.edge_note for c in sweep.criteria if c.at_edge]


def test_a_criterion_at_the_edge_of_the_range_says_so():
    ks = list(range(2, 16))
    sweep = ClusterCountSweep(ks=ks, silhouette=[0.5 - 0.01 * k for k in ks], bic=[1000 - 10 * k for k in ks],
                              inertia=[100 / k for k in ks], suggested=10, bic_best=15, n_samples=100, n_features=4,
                              umap_silhouette=[-abs(k - 10) for k in ks])
    assert [(c.name, c.best, c.at_edge) for c in sweep.criteria] == [
        ("UMAP silhouette", 10, False), ("silhouette in the embedding", 2, True), ("GMM BIC", 15, True),
        ("elbow of the inertia", sweep.elbow, False)]
    assert sweep.edge_notes == [
        "The silhouette in the embedding is highest at 2, the smallest count tried (fewer clusters cannot be scored).",
        "The GMM BIC is lowest at 15, the largest count tried: try a wider range."]
    assert sweep.agreement.startswith("Only the UMAP silhouette suggests 10; the silhouette in the embedding "
                                      "suggests 2")
