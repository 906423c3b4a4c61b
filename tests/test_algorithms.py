import numpy as np
import pytest

from core.algorithms import ALGORITHMS, PixelKMeans
from core.metrics import nmi
from core.params import ParameterError
from core.progress import TrainingCancelled
from tests.test_save_load import assert_round_trip

FAST = {"epochs": 2, "latent_dim": 4, "hidden_units": (32, 16), "filters": (8, 16), "batch_size": 64,
        "cluster_epochs": 2, "vade_epochs": 2, "som_epochs": 2, "grid_rows": 4, "grid_cols": 4}


def build(name, n_clusters=4, **overrides):
    """`name`'s estimator with tiny settings (those it takes) and a fixed seed."""
    spec = ALGORITHMS[name]
    accepted = spec.estimator().get_params()
    params = {k: v for k, v in FAST.items() if k in accepted} | overrides
    if spec.uses_n_clusters:
        params["n_clusters"] = n_clusters
    if name == "n2d" and "architecture" not in overrides:  # these tests' few images would leave out its network
        params["architecture"] = "dense"
    return spec.estimator(random_state=0, **params)


# What each method offers, stated rather than probed: a method that loses one fails here, never skips.
PREDICTS = {"ae_kmeans", "ae_gmm", "dec", "idec", "dcec", "vade", "som", "kmeans", "gmm"}
CONFIDENCE = {"ae_gmm", "dec", "idec", "dcec", "vade", "n2d", "hdbscan", "gmm", "umap_gmm"}
CENTERS = {"ae_kmeans", "ae_gmm", "dec", "idec", "dcec", "kmeans"}


def test_the_methods_that_place_new_images_say_so_and_the_others_say_why_not():
    assert PREDICTS == {name for name, spec in ALGORITHMS.items() if spec.estimator.can_predict}
    for spec in ALGORITHMS.values():
        assert bool(spec.estimator.predict_rule) == spec.estimator.can_predict != bool(spec.estimator.cannot_predict)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_algorithm_shapes_range_determinism_predict_and_round_trip(name, synthetic, tmp_path):
    X = synthetic.images
    first = build(name).fit(X)
    assert first.labels_.shape == (len(X),)
    found = set(np.unique(first.labels_))
    if ALGORITHMS[name].uses_n_clusters:
        assert found <= set(range(4))
    else:  # density methods number their clusters from 0 and call noise -1
        assert min(found) >= -1 and found - {-1} == set(range(len(found - {-1})))
    assert first.embedding_.shape[0] == len(X)
    assert hasattr(first, "predict") == (name in PREDICTS)
    if name in PREDICTS:
        np.testing.assert_array_equal(first.predict(X), first.labels_)
        with pytest.raises(ValueError, match="the shape the model was trained on, 12x12x1; got 11x12x1"):
            first.predict(X[:, :-1])  # an image of another size is refused, not silently reshaped
        with pytest.raises(ValueError, match="NaN"):
            first.predict(np.full_like(X[:2], np.nan))
    view = first.view_data()
    assert ("confidence" in view) == (name in CONFIDENCE) and ("centers" in view) == (name in CENTERS)
    if name in CONFIDENCE:
        assert view["confidence"].shape == (len(X),) and np.all((view["confidence"] >= 0) & (view["confidence"] <= 1))
    if name in CENTERS:
        assert view["centers"].shape[1:] == X.shape[1:]
    assert_round_trip(first, X, tmp_path)  # save, load, and the same fitted state and predictions
    second = build(name).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)  # seeded runs repeat
    np.testing.assert_allclose(first.embedding_, second.embedding_, rtol=1e-4, atol=1e-4)


def test_every_algorithm_runs_from_the_registry_on_colour_images():
    """Every method takes 3-channel images of another size (DCEC's convolutions included)."""
    from core.data import load_dataset

    data = load_dataset("synthetic", n_samples=120, n_clusters=3, image_size=10, seed=2)
    colour = np.repeat(data.images, 3, axis=-1) * np.array([1.0, 0.5, 0.2], dtype=np.float32)
    for name in ALGORITHMS:
        model = build(name, n_clusters=3).fit(colour)
        assert model.labels_.shape == (120,), name


@pytest.mark.parametrize("name", [n for n, s in ALGORITHMS.items() if s.deep])
def test_deep_algorithms_report_progress_and_history(name, synthetic):
    events = []
    model = build(name, epochs=3).fit(synthetic.images, callback=events.append)
    pretrain_ends = [e for e in events if e.end_of_epoch and e.phase == "pretrain"]
    assert [e.epoch for e in pretrain_ends] == [1, 2, 3]
    assert len(events) > len(pretrain_ends)  # reports inside epochs too, for a smooth bar
    pretrain = [h for h in model.history_ if h["phase"] == "pretrain"]
    assert [h["epoch"] for h in pretrain] == [1, 2, 3]
    assert pretrain[-1]["loss"] < pretrain[0]["loss"]
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


def test_tensorflow_kmeans_agrees_with_scikit_learn(digits):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from core.models.kmeans import kmeans, predict

    X = digits.images.reshape(len(digits.images), -1)
    ours = kmeans(X, 10, n_init=10, random_state=0)
    theirs = KMeans(10, n_init=10, random_state=0).fit(X)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=0.01)  # as good a local optimum
    assert adjusted_rand_score(theirs.labels_, ours.labels) > 0.9
    np.testing.assert_array_equal(predict(X, ours.cluster_centers), ours.labels)
    recomputed = ((X - ours.cluster_centers[ours.labels]) ** 2).sum()
    assert ours.inertia == pytest.approx(recomputed, rel=1e-4)


def test_autoencoder_kmeans_backends_agree(synthetic):
    sk = build("ae_kmeans", kmeans_backend="scikit-learn").fit(synthetic.images)
    tf_ = build("ae_kmeans", kmeans_backend="tensorflow").fit(synthetic.images)
    np.testing.assert_allclose(sk.embedding_, tf_.embedding_, rtol=1e-5, atol=1e-5)  # same network
    assert nmi(sk.labels_, tf_.labels_) > 0.9


def test_density_methods_mark_noise_and_suggest_eps(digits):
    from core.algorithms.classical import DBSCANClustering, HDBSCANClustering

    dbscan = DBSCANClustering().fit(digits.images)
    view = dbscan.view_data()
    assert view["eps"] == dbscan.suggested_eps_ > 0
    assert np.all(np.diff(view["k_distances"]) >= 0)
    found = len(np.unique(dbscan.labels_[dbscan.labels_ >= 0]))
    assert 5 <= found <= 40 and 0 < np.mean(dbscan.labels_ == -1) < 0.5  # a usable suggestion, not one blob
    assert nmi(digits.labels, dbscan.labels_) > 0.6
    hdbscan = HDBSCANClustering().fit(digits.images)
    assert np.any(hdbscan.labels_ == -1) and hdbscan.view_data()["confidence"][hdbscan.labels_ == -1].max() == 0


def test_agglomerative_tree_matches_its_labels(digits):
    from scipy.cluster.hierarchy import fcluster

    from core.algorithms.classical import Agglomerative

    model = Agglomerative(10).fit(digits.images)
    cut = fcluster(model.view_data()["linkage"], t=10, criterion="maxclust")
    assert nmi(model.labels_, cut) > 0.99  # the stored tree, cut at 10, gives the same clusters
    assert nmi(digits.labels, model.labels_) > 0.8  # Ward on digits is a strong classical baseline


def test_bad_input_and_parameters_are_clear_errors(synthetic):
    X = synthetic.images
    with pytest.raises(ValueError, match="cannot make 400 clusters from 300 samples"):
        PixelKMeans(n_clusters=400).fit(X)
    bad = X.copy()
    bad[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build("ae_kmeans").fit(bad)
    with pytest.raises(ParameterError, match='"latent_dim" must be an integer >= 1') as raised:
        build("ae_kmeans", latent_dim=0).fit(X)  # an estimator names its parameter; the edges say its label
    assert raised.value.names == ("latent_dim",)
    assert raised.value.say(lambda name: "Latent size").startswith('"Latent size" must be')
    with pytest.raises(ValueError, match="hidden_units"):
        build("ae_kmeans", hidden_units=(32, -1)).fit(X)


def test_diverging_loss_is_reported_not_hidden(synthetic):
    with pytest.raises(FloatingPointError, match="diverged"):
        build("ae_kmeans", epochs=2).fit(synthetic.images * 1e20)  # squared errors overflow float32


@pytest.mark.parametrize("name", ["ae_kmeans", "ae_gmm"])
def test_autoencoder_methods_beat_pixel_kmeans_on_digits(name, digits, digits_network):
    """Each deep method must learn something k-means on pixels cannot see (NMI, same data, same seed); both
    cluster the embedding of the one network pretrained for the suite (conftest)."""
    baseline = nmi(digits.labels, PixelKMeans(n_clusters=10, random_state=0).fit(digits.images).labels_)
    model = ALGORITHMS[name].estimator(n_clusters=10, epochs=AE_TEST_EPOCHS, random_state=0).fit(
        digits.images, pretrained=digits_network)
    assert model.pretrained_reused_
    score = nmi(digits.labels, model.labels_)
    print(f"NMI on digits: k-means on pixels {baseline:.3f}, {name} {score:.3f}")
    assert baseline > 0.6  # sanity: the baseline itself is a real clustering
    assert score >= baseline


AE_TEST_EPOCHS = 30  # as the suite's network was pretrained (conftest): the settings it must fit


def test_classical_methods_cluster_a_learned_embedding_too(synthetic):
    from core.algorithms import GaussianMixtureClustering

    model = GaussianMixtureClustering(4, space="autoencoder", epochs=3, latent_dim=4).fit(synthetic.images)
    assert model.embedding_.shape == (len(synthetic.images), 4)  # clustered in the 4-d embedding
    assert [h["phase"] for h in model.history_] == ["pretrain"] * 3
    assert model.view_data()["centers"].shape == (4, *synthetic.images.shape[1:])  # means decoded to images
    np.testing.assert_array_equal(model.predict(synthetic.images), model.labels_)


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_clone_and_set_params_round_trip(name):
    from sklearn.base import clone

    spec = ALGORITHMS[name]
    changed = {p.name: (p.options[-1] if p.kind == "choice" else p.high if p.high is not None else p.low)
               for p in spec.params}
    original = spec.estimator(**changed, random_state=3)
    copy = clone(original)
    assert copy is not original and copy.get_params() == original.get_params()
    fresh = spec.estimator().set_params(**original.get_params())
    assert fresh.get_params() == original.get_params()
    assert all(getattr(copy, key) == value for key, value in changed.items())
    with pytest.raises(ValueError, match="Invalid parameter"):
        spec.estimator().set_params(no_such_parameter=1)


def test_auto_architecture_is_convolutional_for_images_of_16_pixels_and_up():
    from core.algorithms.spaces import resolve_architecture
    from core.data import load_dataset
    from core.models.autoencoder import ConvAutoencoder, DenseAutoencoder

    assert resolve_architecture("auto", (28, 28, 1)) == "convolutional"
    assert resolve_architecture("auto", (16, 20, 3)) == "convolutional"
    assert resolve_architecture("auto", (8, 8, 1)) == "dense"          # digits
    assert resolve_architecture("auto", (1, 30, 1)) == "dense"         # a table's rows
    assert resolve_architecture("dense", (28, 28, 1)) == "dense"
    data = load_dataset("synthetic", n_samples=120, n_clusters=3, image_size=16, seed=2)
    model = build("ae_kmeans", n_clusters=3).fit(data.images)
    assert model.architecture_ == "convolutional" and isinstance(model.autoencoder_, ConvAutoencoder)
    np.testing.assert_array_equal(model.predict(data.images), model.labels_)
    assert model.view_data()["centers"].shape == (3, 16, 16, 1)
    dense = build("ae_kmeans", n_clusters=3, architecture="dense").fit(data.images)
    assert dense.architecture_ == "dense" and isinstance(dense.autoencoder_, DenseAutoencoder)
    vade = build("vade", n_clusters=3, epochs=3, vade_epochs=2, n_generated=2).fit(data.images)
    assert vade.architecture_ == "convolutional" and isinstance(vade.autoencoder_, ConvAutoencoder)
    assert vade.view_data()["generated"].shape == (3, 2, 16, 16, 1)  # images drawn from each component
    np.testing.assert_array_equal(vade.predict(data.images), vade.labels_)
    # A method clustering pixels keeps them flat, whatever the architecture would be.
    som = build("som", n_clusters=3, space="pixels").fit(data.images)
    assert som.embedding_.shape == (120, 256)



def test_n2d_trains_its_dense_network_from_a_thousand_images_and_reads_the_pixels_below():
    """N2D's "auto": the paper's dense network on 28x28 images (not the convolutional one the other methods
    take there), and no network on a person's few hundred images, which it says."""
    from core.algorithms.n2d import FEW_IMAGES
    from core.data import load_dataset
    from core.models.autoencoder import DenseAutoencoder

    few = load_dataset("synthetic", n_samples=FEW_IMAGES - 1, n_clusters=3, image_size=28, seed=3)
    events = []
    small = build("n2d", n_clusters=3, architecture="auto").fit(few.images, callback=events.append)
    assert small.space_kind_ == "pixels" and not hasattr(small, "autoencoder_") and small.architecture_ is None
    assert small.latent_.shape == (FEW_IMAGES - 1, 28 * 28)
    assert not any(e.phase == "pretrain" for e in events)
    assert any("too few to train an autoencoder" in e.message for e in events)
    assert nmi(few.labels, small.labels_) > 0.9  # three noisy shapes: the pixels' manifold separates them

    enough = load_dataset("synthetic", n_samples=FEW_IMAGES, n_clusters=3, image_size=28, seed=3)
    large = build("n2d", n_clusters=3, architecture="auto", epochs=1).fit(enough.images)
    assert large.space_kind_ == "autoencoder" and isinstance(large.autoencoder_, DenseAutoencoder)
    assert large.architecture_ == "dense" and large.latent_.shape == (FEW_IMAGES, 4)
    pixels = build("n2d", n_clusters=3, architecture="pixels").fit(enough.images)
    assert pixels.space_kind_ == "pixels" and pixels.progress_plan() == [("cluster", 15.0)]


def test_a_mixture_survives_a_cluster_that_umap_collapsed():
    """N2D's UMAP manifold of 2,000 noisy 28x28 shapes (seed 2), on which scikit-learn's default mixture
    failed ("ill-defined empirical covariance"): one cluster's points all but coincide."""
    from sklearn.mixture import GaussianMixture

    from core.algorithms.autoencoder import fit_gaussian_mixture
    from tests.conftest import ROOT

    with np.load(ROOT / "tests" / "data" / "collapsed_manifold.npz", allow_pickle=False) as stored:
        manifold = stored["manifold"]
    try:  # scikit-learn up to 1.8 failed here; 1.9 no longer does, and the floor must not hurt either
        GaussianMixture(10, covariance_type="full", n_init=5, random_state=2).fit(manifold)
    except ValueError as error:
        assert "ill-defined empirical covariance" in str(error)
    labels = fit_gaussian_mixture(manifold, 10, n_init=5, random_state=2).predict(manifold)
    assert len(np.unique(labels)) == 10


def test_xla_compiles_dense_steps_only(monkeypatch):
    """XLA speeds up the dense networks' steps and slows down the convolutional ones (bench/training_speed.py),
    for a whole autoencoder and for a part of one (VaDE trains its decoder's layers)."""
    from core.models.autoencoder import ConvAutoencoder, DenseAutoencoder, prefers_xla

    monkeypatch.setenv("DEEP_CLUSTERING_XLA", "1")  # the app's setting (the suite turns XLA off: conftest.py)
    conv, dense = ConvAutoencoder((16, 16, 1), 4), DenseAutoencoder(64, 4, (32,))
    assert not prefers_xla(conv) and not prefers_xla(conv.decoder) and not prefers_xla(conv.encoder)
    assert prefers_xla(dense) and prefers_xla(dense.decoder)
    monkeypatch.setenv("DEEP_CLUSTERING_XLA", "0")
    assert not prefers_xla(dense)


def test_xla_trains_a_dense_autoencoder_as_the_plain_step_does(monkeypatch, digits):
    """The app's dense steps run compiled with XLA: on digits, the same network from the same start learns
    the same way with and without it (float sums in another order: close, not equal)."""
    from core.models.autoencoder import DenseAutoencoder, train_autoencoder

    X = digits.images.reshape(len(digits.images), -1)
    losses = {}
    for xla in ("1", "0"):
        monkeypatch.setenv("DEEP_CLUSTERING_XLA", xla)
        history = train_autoencoder(DenseAutoencoder(X.shape[1], 10, (64, 32), seed=0), X, epochs=3,
                                    batch_size=64, learning_rate=1e-3, seed=0)
        losses[xla] = np.array([h["loss"] for h in history])
    assert losses["1"][-1] < losses["1"][0] * 0.8  # it learns
    np.testing.assert_allclose(losses["1"], losses["0"], rtol=0.02)


def test_n2d_pretrains_on_moved_images_of_16_pixels_a_side_and_up(digits):
    """N2D's "auto" augmentation (DEC-DA's moved images): on for images of 16x16 and up, off for 8x8 digits and
    tables; the moved images keep their shape and ink, the network still learns, and a network pretrained
    on moved images is kept under its own key (never handed to a run that asked for plain pretraining)."""
    from core.algorithms.spaces import AutoencoderSpace, resolve_augment
    from core.data import load_dataset
    from core.models.autoencoder import DenseAutoencoder, augmenter, train_autoencoder

    assert resolve_augment("auto", (28, 28, 1)) and resolve_augment("auto", (32, 32, 3))
    assert not resolve_augment("auto", (8, 8, 1)) and not resolve_augment("auto", (30,))
    assert resolve_augment("on", (8, 8, 1)) and not resolve_augment("on", (30,)) and not resolve_augment("off", (28, 28, 1))

    images = digits.images[:64]
    moved = np.asarray(augmenter(images.shape[1:], seed=0)(images, training=True))
    assert moved.shape == images.shape and not np.allclose(moved, images)
    ink, moved_ink = images.sum(axis=(1, 2, 3)), moved.sum(axis=(1, 2, 3))
    assert np.median(np.abs(moved_ink - ink) / ink) < 0.25  # moved, not wiped out

    X = digits.images.reshape(len(digits.images), -1)
    history = train_autoencoder(DenseAutoencoder(64, 10, (64, 32), seed=0), X, epochs=3, batch_size=64,
                                learning_rate=1e-3, seed=0, augment_shape=(8, 8, 1))
    assert history[-1]["loss"] < history[0]["loss"] * 0.8

    shapes = load_dataset("synthetic", n_samples=1000, n_clusters=3, image_size=28, seed=3)
    model = build("n2d", n_clusters=3, epochs=1).fit(shapes.images)
    assert model.space_.augments and build("n2d", augment="off").get_params()["augment"] == "off"
    plain = AutoencoderSpace(latent_dim=4, epochs=1, image_shape=(28, 28, 1))
    on = AutoencoderSpace(latent_dim=4, epochs=1, image_shape=(28, 28, 1), augment="on")
    assert "augment" not in plain.settings(1000) and on.settings(1000)["augment"] is True
