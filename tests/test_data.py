import numpy as np
import pytest

from core.data import (DATASETS, Dataset, DatasetUnavailable, load_dataset, preprocess, stratified_subsample,
                       validate_images)


def test_digits_is_bundled_nhwc_in_unit_range(digits):
    assert digits.images.shape == (1797, 8, 8, 1)
    assert digits.images.dtype == np.float32
    assert digits.images.min() == 0.0 and digits.images.max() == 1.0
    assert digits.n_classes == 10 and digits.class_names[3] == "3"


def test_synthetic_has_its_size_and_known_clusters():
    data = load_dataset("synthetic", n_samples=250, n_clusters=5, image_size=16, seed=3)
    assert data.images.shape == (250, 16, 16, 1)
    assert np.bincount(data.labels).tolist() == [50] * 5
    again = load_dataset("synthetic", n_samples=250, n_clusters=5, image_size=16, seed=3)
    np.testing.assert_array_equal(data.images, again.images)


def test_stratified_subsample_keeps_proportions_and_is_seeded(digits):
    sub = stratified_subsample(digits, 500, seed=1)
    assert sub.n_samples == 500
    expected = np.bincount(digits.labels) / digits.n_samples * 500
    assert np.all(np.abs(np.bincount(sub.labels) - expected) <= 1)
    np.testing.assert_array_equal(sub.indices, stratified_subsample(digits, 500, seed=1).indices)
    np.testing.assert_array_equal(sub.images, digits.images[sub.indices])
    assert stratified_subsample(digits, None) is digits


@pytest.mark.parametrize("method", ["minmax", "standardize", "l2"])
def test_preprocessing_keeps_shape(digits, method):
    out = preprocess(digits.images, method)
    assert out.shape == digits.images.shape and out.dtype == np.float32
    flat = out.reshape(len(out), -1)
    if method == "standardize":
        varying = digits.images.reshape(len(out), -1).std(axis=0) > 0
        np.testing.assert_allclose(flat[:, varying].mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(flat[:, varying].std(axis=0), 1, atol=1e-3)
    if method == "l2":
        np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1, atol=1e-5)


def test_bad_images_get_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        validate_images(np.full((3, 4, 4), np.nan))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        validate_images(np.full((3, 4, 4), 255.0))
    with pytest.raises(ValueError, match="shape"):
        validate_images(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="one entry per image"):
        Dataset("x", np.zeros((3, 4, 4)), labels=np.zeros(2))
    with pytest.raises(ValueError, match="unknown preprocessing"):
        preprocess(np.zeros((3, 4, 4, 1)), "zscore")


def test_failed_download_raises_a_plain_message(monkeypatch):
    import keras.src.datasets.mnist as keras_mnist

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras_mnist, "get_file", offline)
    with pytest.raises(DatasetUnavailable, match="MNIST could not be downloaded.*internet connection"):
        load_dataset("mnist")


def test_registry_lists_the_shipped_datasets():
    assert {"digits", "synthetic", "mnist", "fashion_mnist"} <= set(DATASETS)
    with pytest.raises(KeyError, match="unknown dataset"):
        load_dataset("imagenet")
