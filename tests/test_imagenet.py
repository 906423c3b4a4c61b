"""The pretrained image network as an embedding (random weights here: the same code, no download), and
UMAP + GMM, which clusters it (or any other space)."""
import numpy as np
import pytest

from core.algorithms import ALGORITHMS
from core.metrics import nmi
from core.models.imagenet import FEATURES, image_features, weights_choice


def test_tests_never_download_the_weights():
    assert weights_choice() is None


def test_features_of_grey_and_colour_images_and_a_table_refused(synthetic):
    grey = synthetic.images[:20]
    features = image_features(grey, weights=None, batch_size=8)
    assert features.shape == (20, FEATURES) and features.dtype == np.float32 and np.all(np.isfinite(features))
    np.testing.assert_allclose(image_features(grey, weights=None, batch_size=20), features, rtol=1e-4, atol=1e-4)
    colour = np.repeat(grey, 3, axis=-1)
    np.testing.assert_allclose(image_features(colour, weights=None), features, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="not images"):
        image_features(np.zeros((5, 1, 30, 1), dtype=np.float32), weights=None)


def test_no_connection_for_the_weights_is_said_plainly(monkeypatch):
    import keras

    from core.data import DatasetUnavailable
    from core.models import imagenet

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    monkeypatch.setattr(imagenet, "_networks", {})
    with pytest.raises(DatasetUnavailable, match="need an internet connection the first time"):
        image_features(np.zeros((2, 8, 8, 1), dtype=np.float32), weights="imagenet")


def test_every_classical_method_clusters_the_networks_features(synthetic):
    images = synthetic.images[:120]
    events = []
    model = ALGORITHMS["gmm"].build(4, space="imagenet").fit(images, callback=events.append)
    assert model.embedding_.shape == (120, FEATURES)
    assert model.timings_["features"] > 0 and any(e.phase == "features" for e in events)
    np.testing.assert_array_equal(model.predict(images), model.labels_)  # new images go through the same network
    for name in ("agglomerative", "dbscan", "hdbscan", "spectral", "umap_gmm"):
        fitted = ALGORITHMS[name].build(4, space="imagenet").fit(images)
        assert fitted.labels_.shape == (120,) and fitted.embedding_.shape[0] == 120


def test_umap_gmm_on_digits_pixels_is_a_strong_reference(digits):
    model = ALGORITHMS["umap_gmm"].build(10).fit(digits.images)
    assert model.embedding_.shape == (len(digits.images), 10)  # the manifold the mixture was fitted in
    assert nmi(digits.labels, model.labels_) >= 0.85
