"""The shortcuts for large data (issue 23): UMAP fitted on a sample with the rest placed by its transform, and
mini-batch k-means. Each is a choice with an "auto" default; here they are forced on small real digits (the
sizes they switch on at are lowered) and must cluster about as well as without."""
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import normalized_mutual_info_score as nmi

import core.algorithms.kmeans as kmeans_choice
import core.projection as projection
from core.algorithms import ALGORITHMS
from core.experiment import RunConfig, check_config, run_experiment
from core.runs import RunStore


@pytest.fixture(scope="module")
def digit_features(digits):
    """Real 8x8 digits as 16 PCA features: a stand-in for an embedding, 1,797 points."""
    return PCA(16, random_state=0).fit_transform(digits.images.reshape(len(digits.images), -1)).astype(np.float32)


def clustered(points, labels):
    return nmi(labels, KMeans(10, n_init=10, random_state=0).fit_predict(points))


def test_umap_on_a_sample_places_every_point_and_maps_the_digits_as_well(monkeypatch, digits, digit_features):
    monkeypatch.setattr(projection, "UMAP_SAMPLE_SIZE", 1000)
    monkeypatch.setattr(projection, "UMAP_SAMPLE_ABOVE", 1000)
    assert projection.umap_sample_size(1797, "auto") == 1000
    assert projection.umap_sample_size(1797, "all") is None and projection.umap_sample_size(900, "auto") is None
    features = digit_features.copy()
    features[1:4] = features[0]  # duplicates: a zero distance must not read as "no neighbour"
    whole = projection.project_2d(features, fit="all")
    sampled = projection.project_2d(features, fit="auto")
    assert sampled.shape == (1797, 2) and sampled.dtype == np.float32 and np.isfinite(sampled).all()
    assert np.array_equal(sampled, projection.project_2d(features, fit="sample"))  # the same seed, the same map
    whole_nmi, sampled_nmi = clustered(whole, digits.labels), clustered(sampled, digits.labels)
    assert sampled_nmi > 0.75 and sampled_nmi > whole_nmi - 0.06, (sampled_nmi, whole_nmi)
    with pytest.raises(ValueError, match="fitted on one of"):
        projection.project_2d(features, fit="half")


def test_mini_batch_kmeans_is_auto_above_its_size_and_clusters_pixels_as_well(monkeypatch, digits):
    pixels = digits.images.reshape(len(digits.images), -1)
    assert kmeans_choice.chosen_backend("auto", 1797) == "scikit-learn"  # no GPU here
    monkeypatch.setattr(kmeans_choice, "MINI_BATCH_ABOVE", 1000)
    assert kmeans_choice.chosen_backend("auto", 1797) == "mini-batch"
    assert kmeans_choice.chosen_backend("scikit-learn", 1797) == "scikit-learn"
    full = ALGORITHMS["kmeans"].estimator(n_clusters=10, kmeans_backend="scikit-learn").fit(digits.images)
    batched = ALGORITHMS["kmeans"].estimator(n_clusters=10).fit(digits.images)  # auto, now mini-batch
    full_nmi, batched_nmi = nmi(digits.labels, full.labels_), nmi(digits.labels, batched.labels_)
    assert batched_nmi > 0.65 and batched_nmi > full_nmi - 0.05, (batched_nmi, full_nmi)
    assert batched.inertia_ < 1.1 * full.inertia_
    assert np.array_equal(batched.predict(digits.images[:50]), batched.labels_[:50])
    assert pixels.shape[1] == batched.cluster_centers_.shape[1]


def test_a_run_fitted_on_a_sample_says_so_and_keeps_the_choice(monkeypatch, tmp_path):
    monkeypatch.setattr(projection, "UMAP_SAMPLE_SIZE", 300)
    with pytest.raises(ValueError, match="fitted on one of auto, all, sample"):
        check_config(RunConfig(projection_fit="most"))
    config = RunConfig(dataset="digits", algorithm="kmeans", n_samples=500, projection_fit="sample")
    result = run_experiment(config)
    assert result.projection_title("umap").endswith("(fitted on 300 of the 500 points)")
    assert "fitted on" not in result.projection_title("pca")
    store = RunStore(tmp_path)
    run_id = store.start_run(config)
    store.finish_run(run_id, result)
    assert store.load_result(run_id).config.projection_fit == "sample"


def test_the_train_form_offers_what_the_map_is_fitted_on(monkeypatch):
    from tests.apptest import new_app

    monkeypatch.setenv("DEEP_CLUSTERING_WARMUP", "0")
    at = new_app()
    box = at.selectbox(key="train_projection_fit")
    assert box.label == "Projection fitted on" and box.options == ["auto", "all points", "a sample"]
    assert box.value == "auto" and "10,000" in box.help and "40,000" in box.help
    box.set_value("all").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train_projection_fit").value == "all"
