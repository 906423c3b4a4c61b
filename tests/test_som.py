"""The self-organizing map (core.models.som) and its clustering estimator on small synthetic data."""
import numpy as np
import pytest

from core.algorithms.som import SelfOrganizingMap
from core.progress import TrainingCancelled

SMALL = dict(epochs=2, latent_dim=4, hidden_units=(32, 16), batch_size=64, grid_rows=4, grid_cols=5,
             som_epochs=8, random_state=0)


@pytest.fixture(scope="module")
def fitted(synthetic):
    return SelfOrganizingMap(4, **SMALL).fit(synthetic.images)


def test_shapes_labels_hits_and_history(fitted, synthetic):
    X = synthetic.images
    n, n_nodes = len(X), 4 * 5
    assert fitted.labels_.shape == (n,) and fitted.labels_.dtype == np.int64
    assert set(np.unique(fitted.labels_)) <= set(range(4))
    assert fitted.embedding_.shape == (n, 4)
    assert fitted.prototypes_.shape == (n_nodes, 4)
    assert fitted.grid_shape_ == (4, 5)
    assert fitted.node_labels_.shape == (n_nodes,) and set(np.unique(fitted.node_labels_)) <= set(range(4))
    assert fitted.hits_.shape == (n_nodes,) and fitted.hits_.sum() == n
    assert fitted.bmu_.shape == (n,) and fitted.bmu_.max() < n_nodes
    np.testing.assert_array_equal(np.bincount(fitted.bmu_, minlength=n_nodes), fitted.hits_)
    np.testing.assert_array_equal(fitted.labels_, fitted.node_labels_[fitted.bmu_])
    assert set(fitted.timings_) == {"pretrain", "cluster"}
    som = [h for h in fitted.history_ if h["phase"] == "som"]
    assert [h["epoch"] for h in som] == list(range(1, 9))
    assert [h["phase"] for h in fitted.history_].count("pretrain") == 2


def test_quantisation_error_decreases(fitted):
    errors = [h["loss"] for h in fitted.history_ if h["phase"] == "som"]
    assert errors[-1] < errors[0]
    assert all(b <= a + 1e-6 for a, b in zip(errors, errors[1:]))
    assert fitted.quantization_error_ == pytest.approx(errors[-1], rel=1e-5)


def test_predict_equals_labels_and_bmus(fitted, synthetic):
    np.testing.assert_array_equal(fitted.predict(synthetic.images), fitted.labels_)
    np.testing.assert_array_equal(fitted.best_matching_units(synthetic.images), fitted.bmu_)
    np.testing.assert_array_equal(fitted.predict(synthetic.images[:7]), fitted.labels_[:7])


def test_seeded_runs_repeat(fitted, synthetic):
    again = SelfOrganizingMap(4, **SMALL).fit(synthetic.images)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    np.testing.assert_array_equal(again.prototypes_, fitted.prototypes_)


def test_view_data(fitted):
    view = fitted.view_data()
    images = view["som_prototype_images"]
    assert images.shape == (20, 12, 12, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(view["som_hits"], fitted.hits_)
    np.testing.assert_array_equal(view["som_node_labels"], fitted.node_labels_)
    assert tuple(view["som_grid"]) == (4, 5)


@pytest.mark.parametrize("node_clustering", ["ward", "kmeans"])
def test_pixel_space_without_autoencoder(synthetic, node_clustering):
    X = synthetic.images
    model = SelfOrganizingMap(4, space="pixels", grid_rows=3, grid_cols=3, som_epochs=5, som_init="pca",
                              node_clustering=node_clustering, random_state=1).fit(X)
    assert not hasattr(model, "autoencoder_") and "pretrain" not in model.timings_
    assert model.embedding_.shape == (len(X), 144) and model.prototypes_.shape == (9, 144)
    np.testing.assert_array_equal(model.transform(X), X.reshape(len(X), -1))
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert len(np.unique(model.labels_)) == 4  # four well-separated synthetic clusters
    assert model.view_data()["som_prototype_images"].shape == (9, 12, 12, 1)


def test_progress_reports_and_cancellation(synthetic):
    events = []
    SelfOrganizingMap(4, **(SMALL | {"epochs": 1, "som_epochs": 3})).fit(synthetic.images, callback=events.append)
    som = [e for e in events if e.phase == "cluster"]
    ends = [e for e in som if e.end_of_epoch]
    assert [e.epoch for e in ends] == [1, 2, 3] and all(e.n_epochs == 3 and e.loss > 0 for e in ends)
    assert all(0.0 <= e.fraction <= 1.0 for e in som) and som[-1].fraction == 1.0

    def cancel(event):
        if event.phase == "cluster" and event.epoch == 2:
            raise TrainingCancelled

    with pytest.raises(TrainingCancelled):
        SelfOrganizingMap(4, space="pixels", grid_rows=3, grid_cols=3, som_epochs=5).fit(
            synthetic.images, callback=cancel)


@pytest.mark.parametrize("params, message", [
    (dict(grid_rows=1, grid_cols=3), '"grid_rows" must be an integer >= 2'),  # the form says "Map rows"
    (dict(grid_rows=0), '"grid_rows" must be an integer >= 2'),
    (dict(grid_cols=2.5), '"grid_cols" must be an integer >= 2'),
    (dict(sigma_start=0.2, sigma_end=0.5), "sigma_start .* must be at least sigma_end"),
    (dict(space="latent-ish"), '"space" must be one of'),
])
def test_bad_parameters_raise(synthetic, params, message):
    with pytest.raises(ValueError, match=message):
        SelfOrganizingMap(4, **({"space": "pixels"} | params)).fit(synthetic.images)


def test_weighted_ward_is_ward_on_replicated_points():
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    from core.models.som import weighted_ward

    rng = np.random.default_rng(0)
    points, weights = rng.normal(size=(40, 3)), rng.integers(1, 5, size=40)
    ours = weighted_ward(points, weights, 5)
    replicated = np.repeat(np.arange(40), weights)
    theirs = AgglomerativeClustering(5, linkage="ward").fit(points[replicated]).labels_
    per_point = np.array([np.bincount(theirs[replicated == i]).argmax() for i in range(40)])
    assert adjusted_rand_score(ours, per_point) == 1.0
    assert sorted(np.unique(ours)) == list(range(5))


def test_train_som_raises_on_nan():
    from core.models.som import train_som

    X = np.ones((10, 3), dtype=np.float32)
    X[3, 1] = np.nan
    with pytest.raises(FloatingPointError):
        train_som(X, 2, 2, epochs=2)
