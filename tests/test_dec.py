"""DEC, IDEC and DCEC: mechanics on small data, and the clustering phase improving on its start on digits."""
import numpy as np
import pytest

from core.algorithms.dec import DCEC, DEC, IDEC
from core.metrics import nmi

SMALL = dict(epochs=4, latent_dim=4, batch_size=64, cluster_epochs=5, random_state=0)
DENSE = dict(hidden_units=(32, 16))


@pytest.mark.parametrize("cls", [DEC, IDEC])
def test_dec_family_shapes_probabilities_determinism(cls, synthetic):
    X = synthetic.images
    first = cls(4, **SMALL, **DENSE).fit(X)
    assert first.labels_.shape == (len(X),) and set(np.unique(first.labels_)) <= set(range(4))
    np.testing.assert_allclose(first.probabilities_.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first.probabilities_.argmax(axis=1), first.labels_)
    assert first.cluster_centers_.shape == (4, 4)
    assert first.initial_labels_.shape == (len(X),)
    assert all(0.0 <= c <= 1.0 for c in first.label_changes_)
    epochs = [h for h in first.history_ if h["phase"] == "cluster"]  # one line per epoch of the clustering phase
    assert [h["epoch"] for h in epochs] == list(range(1, len(epochs) + 1)) and len(epochs) <= SMALL["cluster_epochs"]
    assert len(first.label_changes_) in (len(epochs) - 1, len(epochs))  # a refresh between epochs (none after the last)
    np.testing.assert_array_equal(first.predict(X), first.labels_)
    second = cls(4, **SMALL, **DENSE).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)


def test_dec_stops_when_labels_settle(synthetic):
    model = DEC(4, **(SMALL | DENSE | {"cluster_epochs": 50, "tol": 0.5})).fit(synthetic.images)
    assert len(model.label_changes_) == 1 and model.label_changes_[0] < 0.5  # stopped at the first refresh


def test_update_interval_must_be_positive(synthetic):
    with pytest.raises(ValueError, match='"update_interval" must be left empty or an integer >= 1'):
        DEC(4, **(SMALL | DENSE | {"update_interval": 0})).fit(synthetic.images)


@pytest.mark.parametrize("cls", [DEC, IDEC])
def test_clustering_phase_does_not_end_worse_than_its_kmeans_start_on_digits(cls, digits, digits_network):
    model = cls(10, epochs=30, random_state=0).fit(digits.images, pretrained=digits_network)  # as the network was
    assert model.pretrained_reused_
    start, end = nmi(digits.labels, model.initial_labels_), nmi(digits.labels, model.labels_)
    print(f"{cls.__name__} on digits: k-means start NMI {start:.3f}, end {end:.3f}")
    assert start > 0.6  # a real starting point
    assert end >= start


def test_dcec_takes_images_of_any_size_and_channels(synthetic):
    from core.models.autoencoder import ConvAutoencoder

    for shape, used in [((8, 8, 1), 2), ((12, 12, 1), 3), ((28, 28, 1), 3), ((32, 32, 3), 3)]:
        network = ConvAutoencoder(shape, 5, (4, 8, 16), seed=0)  # 8x8: 8 -> 4 -> 2, a third halving would not fit
        assert len(network.filters) == used
        assert tuple(network(np.zeros((2, *shape), np.float32)).shape) == (2, *shape)
    colour = np.repeat(synthetic.images[:, :10, :10], 3, axis=-1)
    model = DCEC(4, **(SMALL | {"filters": (8, 16, 32)})).fit(colour)
    assert model.autoencoder_.image_shape == (10, 10, 3)
    assert model.view_data()["centers"].shape == (4, 10, 10, 3)
