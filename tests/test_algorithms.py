import numpy as np
import pytest

from core.algorithms import ALGORITHMS, PixelKMeans
from core.metrics import nmi
from core.progress import TrainingCancelled

FAST = {"epochs": 2, "latent_dim": 4, "hidden_units": (32, 16), "batch_size": 64}


def build(name, n_clusters=4, **overrides):
    spec = ALGORITHMS[name]
    params = {k: v for k, v in FAST.items() if spec.deep} | overrides
    return spec.estimator(n_clusters=n_clusters, random_state=0, **params)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_algorithm_shapes_range_determinism_and_predict(name, synthetic):
    X = synthetic.images
    first = build(name).fit(X)
    assert first.labels_.shape == (len(X),)
    assert set(np.unique(first.labels_)) <= set(range(4))
    assert first.embedding_.shape[0] == len(X)
    np.testing.assert_array_equal(first.predict(X), first.labels_)
    second = build(name).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)  # seeded runs repeat
    np.testing.assert_allclose(first.embedding_, second.embedding_, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n, s in ALGORITHMS.items() if s.deep])
def test_deep_algorithms_report_progress_and_history(name, synthetic):
    events = []
    model = build(name, epochs=3).fit(synthetic.images, callback=events.append)
    epoch_ends = [e for e in events if e.end_of_epoch]
    assert [e.epoch for e in epoch_ends] == [1, 2, 3]
    assert len(events) > len(epoch_ends)  # reports inside epochs too, for a smooth bar
    assert [h["epoch"] for h in model.history_] == [1, 2, 3]
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    assert set(model.timings_) >= {"pretrain", "cluster"}


def test_cancel_stops_training_at_the_next_batch(synthetic):
    seen = []

    def cancel_in_second_epoch(event):
        seen.append(event)
        if event.epoch == 2:
            raise TrainingCancelled()

    with pytest.raises(TrainingCancelled):
        build("ae_kmeans", epochs=50).fit(synthetic.images, callback=cancel_in_second_epoch)
    assert max(e.epoch for e in seen) == 2


def test_bad_input_and_parameters_are_clear_errors(synthetic):
    X = synthetic.images
    with pytest.raises(ValueError, match="cannot make 400 clusters from 300 samples"):
        PixelKMeans(n_clusters=400).fit(X)
    bad = X.copy()
    bad[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build("ae_kmeans").fit(bad)
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1"):
        build("ae_kmeans", latent_dim=0).fit(X)
    with pytest.raises(ValueError, match="hidden_units"):
        build("ae_kmeans", hidden_units=(32, -1)).fit(X)


def test_diverging_loss_is_reported_not_hidden(synthetic):
    with pytest.raises(FloatingPointError, match="diverged"):
        build("ae_kmeans", epochs=2).fit(synthetic.images * 1e20)  # squared errors overflow float32


@pytest.mark.parametrize("name", ["ae_kmeans", "ae_gmm"])
def test_autoencoder_methods_beat_pixel_kmeans_on_digits(name, digits):
    """Each deep method must learn something k-means on pixels cannot see (NMI, same data, same seed)."""
    baseline = nmi(digits.labels, PixelKMeans(n_clusters=10, random_state=0).fit(digits.images).labels_)
    model = ALGORITHMS[name].estimator(n_clusters=10, epochs=AE_TEST_EPOCHS, random_state=0).fit(digits.images)
    score = nmi(digits.labels, model.labels_)
    print(f"NMI on digits: k-means on pixels {baseline:.3f}, {name} {score:.3f}")
    assert baseline > 0.6  # sanity: the baseline itself is a real clustering
    assert score >= baseline


AE_TEST_EPOCHS = 75  # the default: the quality bar holds for what users get
