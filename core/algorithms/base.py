"""The interface every clustering algorithm shares, in the spirit of scikit-learn's estimators.

Parameters go to the constructor (stored under their own names, nothing derived). Each estimator declares
them once, in `parameters` (:class:`core.params.Param`: the constraint `fit` checks first, and the label,
range and help of those the form shows), beside its registry `name`, `title`, `description`, whether it is
`deep` and whether it `uses_n_clusters`. `fit` sets fitted attributes with a trailing underscore:

``labels_``      cluster of each sample (-1 for noise where an algorithm has it)
``embedding_``   the points the clustering was made in, shape (N, d): the pixels, an autoencoder's latent
                 codes, ImageNet features, or a UMAP manifold of one of them (``embedding_space_`` names it)
``history_``     list of per-epoch dicts ({"phase", "epoch", "loss", "elapsed"}); empty for classical methods
``timings_``     seconds per phase, e.g. {"pretrain": 12.3, "cluster": 0.4}

and `view_data()` returns what the algorithm's own view in the app needs (plain arrays and numbers:
soft-assignment confidences, a dendrogram's linkage, a SOM's prototypes...), so a result can be
shown, and stored, without the fitted model.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from core import quiet_tensorflow_import
from sklearn.utils.metaestimators import available_if

from core.algorithms.assignment import mixture_arrays, mixture_from_arrays
from core.algorithms.spaces import PixelSpace, autoencoder_text
from core.params import ParameterError
from core.progress import PhaseReporter, ProgressCallback


class DamagedModel(ValueError):
    """A saved estimator's file is missing, truncated or not what it should be; the message names it."""


def read_saved(path: Path, read):
    """`read(path)`, or DamagedModel naming the file when it is missing or cannot be read (a truncated or
    edited file: json, numpy, zipfile and Keras each raise their own errors)."""
    try:
        return read(path)
    except FileNotFoundError:
        raise DamagedModel(f"the saved model in {path.parent} is incomplete: {path.name} is missing.") from None
    except Exception as error:
        raise DamagedModel(f"the saved model's {path.name} in {path.parent} is damaged and cannot be read "
                           f"({type(error).__name__}: {str(error)[:200]}).") from None


def _read_json(path: Path) -> dict:
    saved = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(saved, dict):
        raise ValueError("not a JSON object")
    return saved


def _read_arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}  # each member decompressed here, where damage shows


class ClusteringAlgorithm(ClusterMixin, TransformerMixin, BaseEstimator):
    """Base class: validation, seeding, timing and progress plumbing around `_fit`.

    Subclasses declare their `parameters` and what the app says of them, the space they cluster in
    (`_make_space`: a part from :mod:`core.algorithms.spaces`, the pixels unless they say otherwise), and
    either `_cluster_embedding(Z)`, which clusters that space's points and returns labels, or a whole
    ``_fit(self, X)`` that sets the fitted attributes. `X` reaches `_fit` validated, as float32 of shape
    (n_samples, ...) (images stay NHWC). Those that place new samples set `can_predict` and implement
    `_predict_embedding(Z)` (and `_membership(Z)` where membership is soft), on the space's points.
    """

    name: str = ""             # the registry's key ("n2d"): runs, the command line and links use it
    title: str = ""            # what a person reads ("N2D (autoencoder + UMAP + GMM)")
    description: str = ""      # what it does and when to choose it, for the form
    deep: bool = False
    uses_n_clusters: bool = True
    parameters: tuple = ()     # every constructor parameter, as core.params.Param
    can_predict: bool = False  # whether `predict` places new samples (a saved model then can too)
    cannot_predict: str = ""   # if not, why not, said to a person
    predict_rule: str = ""     # if so, how it places a sample, said to a person

    @classmethod
    def upgrade_params(cls, params: dict) -> dict:
        """`params` as saved by any release, in today's spelling (each parameter's `renamed` values)."""
        upgraded = dict(params)
        for param in cls.parameters:
            old = dict(param.renamed)
            if param.name in upgraded and isinstance(upgraded[param.name], str) and upgraded[param.name] in old:
                upgraded[param.name] = old[upgraded[param.name]]
        return upgraded

    @classmethod
    def parameter(cls, name: str):
        """The declaration of parameter `name` (a :class:`core.params.Param`), or None."""
        return next((p for p in cls.parameters if p.name == name), None)

    def fit(self, X, y=None, *, callback: Optional[ProgressCallback] = None, pretrained=None, library=None,
            recorder=None, mixed_precision: bool = False):
        """Cluster `X`, shape (n_samples, ...). `y` is ignored (present for API consistency).

        `callback` receives :class:`core.progress.ProgressEvent`s; raising
        :class:`core.progress.TrainingCancelled` from it stops the fit.

        The methods that pretrain an autoencoder can start from one instead of training it: `pretrained`
        is a network (a Keras autoencoder of the same shape, with ``encoder`` and ``decoder``; its weights
        are copied); `library` is a :class:`core.runs.autoencoders.AutoencoderLibrary`, looked up by the
        pretraining's key and added to when the network had to be trained. Methods without an autoencoder
        ignore both. They are fit arguments, not parameters: they are bound to the data, and parameters
        stay plain values.

        `recorder` (a :class:`core.algorithms.watch.FrameRecorder`) takes pictures of a sample of `X` while a
        network trains (the live view, kept with a run); fitting with it gives the same result as without.

        `mixed_precision`: the network trained computes in float16, its weights and outputs stay float32
        (:func:`core.models.training.precision`); faster on recent NVIDIA GPUs. A setting of the run, not of the
        method (a run's :class:`core.experiment.RunConfig` holds it); methods that train no network ignore it.
        """
        X = self._validate_data(X)
        self.check_parameters(len(X), int(np.prod(X.shape[1:])))
        self.timings_ = {}
        self.history_ = []
        self.image_shape_ = tuple(int(v) for v in X.shape[1:])
        self.n_features_in_ = int(np.prod(self.image_shape_))
        self._n_samples = len(X)
        self._callback, self._pretrained, self._library = callback, pretrained, library
        self._recorder, self._mixed_precision = recorder, mixed_precision
        if recorder is not None:
            self._callback = recorder.wrap(callback)
        try:
            with config_context(array_api_dispatch=False):  # NumPy throughout; scikit-learn's mixture refuses
                self._fit(X)                                 # its k-means start when dispatch is on
            if recorder is not None:
                recorder.finish(self.labels_)
        finally:
            self._callback = self._pretrained = self._library = self._recorder = None
        self.embedding_space_ = self.space_text(int(np.prod(np.shape(self.embedding_)[1:])))
        return self

    def fit_predict(self, X, y=None, *, callback: Optional[ProgressCallback] = None, pretrained=None,
                    library=None) -> np.ndarray:
        return self.fit(X, callback=callback, pretrained=pretrained, library=library).labels_

    def progress_plan(self) -> list:
        """The phases `fit` reports, in order, with their expected share of its time (relative
        weights, about seconds per epoch on a CPU), so that a run's progress bar moves evenly."""
        return self._make_space().progress_plan() + [("cluster", 5.0)]

    # -- helpers for subclasses -------------------------------------------------------------------
    def _reporter(self, phase: str) -> PhaseReporter:
        return PhaseReporter(self._callback, phase)

    def _watch(self, phase: str, encode, assign=None) -> None:
        """Let the fit's recorder (if any) take frames of `phase`: :meth:`core.algorithms.watch.FrameRecorder.watch`."""
        if getattr(self, "_recorder", None) is not None:
            self._recorder.watch(phase, encode, assign)

    @contextmanager
    def _timed(self, phase: str):
        start = time.perf_counter()
        yield
        self.timings_[phase] = self.timings_.get(phase, 0.0) + time.perf_counter() - start

    def view_data(self) -> dict:
        """Arrays and numbers for this algorithm's view.

        Estimators with ``probabilities_`` report each sample's confidence (its largest membership
        probability) under ``"confidence"``; those that cluster an autoencoder's embedding around centres
        (``cluster_centers_`` or a mixture's means) report each centre decoded into an image, ``"centers"``.
        """
        self._check_fitted()
        data = {}
        probabilities = getattr(self, "probabilities_", None)
        if probabilities is not None:
            data["confidence"] = np.asarray(probabilities).max(axis=1).astype(np.float32)
        centers = getattr(self, "cluster_centers_", None)
        if centers is None and hasattr(self, "gmm_"):
            centers = self.gmm_.means_
        network = getattr(self, "autoencoder_", None)
        if centers is not None and network is not None and np.shape(centers)[1] == network.latent_dim:
            data["centers"] = self._as_images(self.space_.decode(centers).reshape(len(centers), -1))
        return data

    def _as_images(self, vectors) -> np.ndarray:
        """Rows of `vectors` (pixels) reshaped to the training images' shape, for display."""
        vectors = np.asarray(vectors, dtype=np.float32)
        shape = self.image_shape_ if len(self.image_shape_) == 3 else (*self.image_shape_, 1, 1)[:3]
        return vectors.reshape(len(vectors), *shape)

    def _check_fitted(self):
        check_is_fitted(self)  # fitted, or loaded from a folder

    # -- the space it clusters in -----------------------------------------------------------------
    def _make_space(self, *, image_shape=None, network=None, n_samples=None):
        """The space this estimator clusters in, built from its parameters (:mod:`core.algorithms.spaces`):
        for samples of `image_shape` where known, around a trained `network` where there is one, for
        `n_samples` samples when fitting (an estimator may choose its space by the data's size)."""
        return PixelSpace()

    def space_for(self, X: np.ndarray):
        """The space a fit on `X` would build, unfitted: what it would train (its `kind`, `settings`), before
        any training (a Ray driver uses it to find the autoencoder a run would reuse)."""
        return self._make_space(image_shape=X.shape[1:], n_samples=len(X))

    @property
    def space_(self):
        """The fitted space: the part that turns new samples into the points this estimator clusters
        (for an autoencoder, around the network fitted or loaded)."""
        self._check_fitted()
        return self._make_space(image_shape=getattr(self, "image_shape_", None),
                                network=getattr(self, "autoencoder_", None))

    def _space_name(self, architecture: Optional[str] = None) -> str:
        """What the space this estimator clusters in is called ("pixels", "autoencoder embedding");
        `architecture` is the network a run recorded, where there is one."""
        space = self._make_space(image_shape=getattr(self, "image_shape_", None))
        return autoencoder_text(architecture) if architecture and space.kind == "autoencoder" else space.text()

    def space_text(self, n_features: Optional[int] = None, architecture: Optional[str] = None) -> str:
        """The space clustered, as a person reads it: "autoencoder embedding (10-d)" (``embedding_space_``
        once fitted; from the parameters alone before, for runs recorded without it)."""
        name = self._space_name(architecture)
        return f"{name} ({n_features}-d)" if n_features else name

    def _fit_space(self, X: np.ndarray):
        """Build this estimator's space for `X` and fit it (an autoencoder trains, or is reused); returns
        (space, the inputs it takes). A trained network becomes ``autoencoder_``, with its ``history_``,
        ``pretrain_key_`` and ``pretrained_reused_``."""
        space = self.space_for(X)
        inputs = space.inputs(X)
        if space.kind == "autoencoder" and getattr(self, "_recorder", None) is not None:
            self._recorder.follow(inputs)
            self._watch("pretrain", space.encode)  # the network is built by `fit`; `encode` reads it then
        space.fit(inputs, callback=self._callback, pretrained=self._pretrained, library=self._library,
                  mixed_precision=self._mixed_precision)
        if space.kind == "autoencoder":
            self.autoencoder_, self.history_ = space.network, list(space.history)
            self.pretrain_key_, self.pretrained_reused_ = space.key, space.reused
            self.timings_["pretrain"] = space.seconds
        return space, inputs

    _cluster_title = ""  # what `_cluster_embedding` is, as its progress message says it

    def _fit(self, X: np.ndarray) -> None:
        """Fit the space, take the points of `X` in it, and cluster them with `_cluster_embedding`."""
        space, inputs = self._fit_space(X)
        message = f"Clustering {space.points} with {self._cluster_title}"
        if space.encode_phase:  # encoding is work of its own (a network over every image): timed apart
            with self._timed(space.encode_phase):
                self.embedding_ = space.encode(inputs, callback=self._callback)
        report = self._reporter("cluster")
        report(message, 0.0)
        with self._timed("cluster"):
            if not space.encode_phase:
                self.embedding_ = space.encode(inputs)
            self.labels_ = np.asarray(self._cluster_embedding(self.embedding_)).astype(np.int64)
        report(message, 1.0)

    def transform(self, X) -> np.ndarray:
        """The points `X` becomes in the space this estimator clusters in (its pixels flattened, its
        autoencoder's embedding, its ImageNet features), before any step that cannot place new samples."""
        space = self.space_
        return space.encode(space.inputs(self._validate_new_data(X)))

    @available_if(lambda estimator: estimator.can_predict)
    def predict(self, X) -> np.ndarray:
        """The cluster of each sample of `X` (new samples included), by the estimator's `predict_rule`."""
        return np.asarray(self._predict_embedding(self.transform(X))).astype(np.int64)

    @available_if(lambda estimator: hasattr(estimator, "_membership"))
    def predict_proba(self, X) -> np.ndarray:
        """Each sample's membership of every cluster, (n_samples, n_clusters), rows summing to 1."""
        return np.asarray(self._membership(self.transform(X)), dtype=np.float64)

    @available_if(lambda estimator: estimator.can_predict)
    def place(self, X) -> tuple:
        """New samples placed with one pass through the space: ``(points, labels, confidence)``, their
        points as `transform` gives them, their clusters, and each one's membership of its cluster where
        the method gives memberships (the cluster then being the most likely one), else None."""
        points = self.transform(X)
        if hasattr(self, "_membership"):
            probabilities = np.asarray(self._membership(points), dtype=np.float64)
            return points, probabilities.argmax(axis=1).astype(np.int64), probabilities.max(axis=1)
        return points, np.asarray(self._predict_embedding(points)).astype(np.int64), None

    # -- save and load ----------------------------------------------------------------------------
    def save(self, folder, *, training_arrays: bool = True) -> None:
        """Write this fitted estimator to `folder`: its parameters and fitted facts as JSON
        (``params.json``), its fitted arrays and numbers as an npz read without pickle (``state.npz``;
        a Gaussian mixture as its arrays), and its networks in the Keras format (``encoder.keras``,
        ``decoder.keras``; weights of a whole model beside them). `training_arrays=False` leaves out
        ``labels_`` and ``embedding_`` (a run keeps them with its other arrays). :meth:`load` reads it back.
        """
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fitted = {name: value for name, value in vars(self).items() if name.endswith("_") and not name.startswith("_")}
        if not training_arrays:
            fitted = {name: value for name, value in fitted.items() if name not in ("labels_", "embedding_")}
        arrays, facts = {}, {}
        for name, value in fitted.items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                arrays[name] = value
            elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                arrays[name] = np.asarray(value)  # fitted numbers, as runs have always kept them
            elif hasattr(value, "covariances_") and name == "gmm_":
                arrays.update(mixture_arrays(value))
            elif _is_plain(value):
                facts[name] = value
        _save_networks(folder, fitted)
        np.savez_compressed(folder / STATE_FILE, **arrays)
        params = json.loads(json.dumps(self.get_params(), default=str))
        (folder / PARAMS_FILE).write_text(json.dumps(
            {"format": MODEL_FORMAT, "estimator": type(self).__name__, "name": self.name, "params": params,
             "fitted": facts}, indent=1), encoding="utf-8")

    def __getstate__(self):
        """Pickled as it is saved: its networks as their .keras files, never as Python objects."""
        state = super().__getstate__()
        networks = {name: value for name, value in state.items() if _is_network(value)}
        if networks:
            with tempfile.TemporaryDirectory() as folder:
                _save_networks(Path(folder), networks)
                state["_network_files"] = {p.name: p.read_bytes() for p in Path(folder).iterdir()}
            state = {name: value for name, value in state.items() if name not in networks}
        return state

    def __setstate__(self, state):
        files = state.pop("_network_files", None)
        super().__setstate__(state)
        if files:
            with tempfile.TemporaryDirectory() as folder:
                for name, data in files.items():
                    (Path(folder) / name).write_bytes(data)
                self.autoencoder_ = _load_networks(Path(folder))

    @classmethod
    def load(cls, folder, *, image_shape=None):
        """The estimator :meth:`save` wrote to `folder`, ready to `predict` and `transform` (networks are
        loaded with Keras' safe mode on). A model saved before its samples' shape was recorded takes
        `image_shape`. Raises ValueError when the folder holds another estimator, DamagedModel (a
        ValueError) naming the file when one is missing or cannot be read."""
        folder = Path(folder)
        saved = read_saved(folder / PARAMS_FILE, _read_json)
        if saved.get("estimator") != cls.__name__:
            raise ValueError(f"{folder} holds a {saved.get('estimator')}, not a {cls.__name__}.")
        params = {name: tuple(value) if isinstance(value, list) else value
                  for name, value in cls.upgrade_params(saved.get("params", {})).items()}
        estimator = cls(**params)
        arrays = read_saved(folder / STATE_FILE, _read_arrays)
        for name, value in arrays.items():
            if name.endswith("_"):
                setattr(estimator, name, value.item() if value.ndim == 0 else value)
        if "gmm_means" in arrays:
            estimator.gmm_ = mixture_from_arrays(arrays)
        for name, value in saved.get("fitted", {}).items():
            setattr(estimator, name, tuple(value) if name in ("image_shape_", "grid_shape_") else value)
        if getattr(estimator, "image_shape_", None) is None and image_shape is not None:
            estimator.image_shape_ = tuple(int(v) for v in image_shape)
        networks = _load_networks(folder)
        if networks is not None:
            estimator.autoencoder_ = networks
        return estimator

    # -- validation -------------------------------------------------------------------------------
    @staticmethod
    def _validate_data(X) -> np.ndarray:
        """`X` as float32 of shape (n_samples, ...), at least 2 samples, finite (scikit-learn's check_array:
        its messages for sparse, complex, object and 1-D input)."""
        X = check_array(X, dtype=np.float32, allow_nd=True, ensure_min_samples=2, ensure_all_finite=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values; clean or drop those samples first.")
        return X

    def check_parameters(self, n_samples: Optional[int] = None, n_features: Optional[int] = None) -> None:
        """Raise ParameterError, naming the parameter, when a parameter is not allowed,
        or does not fit data of `n_samples` samples of `n_features` values (each check runs when its
        count is given). `fit` calls this first; the app calls it before it records a run."""
        for param in self.parameters:
            value = getattr(self, param.name)
            if not param.constraint.accepts(value):
                raise ParameterError(f"{{{param.name}}} must be {param.constraint}; got {value!r}.", param.name)
        self._validate_parameters(n_samples, n_features)

    def _validate_new_data(self, X) -> np.ndarray:
        """`X` for predict / transform: validated like training data and of the training samples' shape
        (an image of another size is refused, not reshaped)."""
        self._check_fitted()
        X = check_array(X, dtype=np.float32, allow_nd=True, ensure_min_samples=0, ensure_all_finite=False)
        expected, got = tuple(self.image_shape_), tuple(X.shape[1:])
        if got != expected:
            raise ValueError(f"X has {int(np.prod(got))} features, but {type(self).__name__} is expecting "
                             f"{int(np.prod(expected))} features as input: new samples must have the shape the model "
                             f"was trained on, {'x'.join(map(str, expected))}; got {'x'.join(map(str, got))}.")
        if len(X) and not np.all(np.isfinite(X)):
            raise ValueError("new samples contain NaN or infinite values; clean or drop those samples first.")
        return X

    def _validate_parameters(self, n_samples: Optional[int], n_features: Optional[int]) -> None:
        """Checks across parameters and against the data's size (subclasses add theirs)."""
        n_clusters = getattr(self, "n_clusters", None)
        if n_clusters is not None and n_samples is not None and n_clusters > n_samples:
            raise ValueError(
                f"cannot make {n_clusters} clusters from {n_samples} samples: choose at most {n_samples}."
            )
        self._make_space().check(n_features)


MODEL_FORMAT = 2  # 1: runs saved before estimators saved themselves (no "format", no fitted facts)
PARAMS_FILE, STATE_FILE = "params.json", "state.npz"
NETWORK_PARTS = ("encoder", "decoder", "posterior")


def _is_plain(value) -> bool:
    """Whether `value` is kept as JSON: text, truth values, and lists, tuples and dicts of them and numbers."""
    try:
        return isinstance(value, (str, bool, list, tuple, dict)) and json.loads(json.dumps(value)) is not None
    except (TypeError, ValueError):
        return False


class SavedAutoencoder:
    """An autoencoder read back from a model folder: its encoder and decoder, as encode and decode use them."""

    def __init__(self, encoder, decoder=None):
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = int(encoder.output_shape[-1])


def _is_network(value) -> bool:
    """Whether `value` is a Keras model, or a saved autoencoder read back (without importing Keras when
    nothing can hold a model: importing it would cost seconds)."""
    if isinstance(value, SavedAutoencoder):
        return True
    if "keras" not in sys.modules:
        return False
    import keras

    return isinstance(value, keras.Model)


def _save_networks(folder: Path, fitted: dict) -> None:
    """Every fitted Keras network: its encoder, decoder and posterior parts as ``<part>.keras``, and the
    weights the parts do not hold (VaDE's mixture prior) as ``<attribute>.weights.h5``."""
    for attribute, model in fitted.items():
        if not _is_network(model):
            continue
        import keras

        covered = set()
        for part in NETWORK_PARTS:
            sub = getattr(model, part, None)
            if isinstance(sub, keras.Model):
                covered.update(id(w) for w in sub.weights)
                if not (folder / f"{part}.keras").exists():
                    sub.save(folder / f"{part}.keras")
        if isinstance(model, keras.Model) and any(id(w) not in covered for w in model.weights):
            model.save_weights(folder / f"{attribute.rstrip('_')}.weights.h5")


def _load_networks(folder: Path) -> Optional[SavedAutoencoder]:
    """The encoder and decoder saved in `folder` (safe mode on: a file cannot run code it carries), or None."""
    if not (folder / "encoder.keras").is_file():
        return None
    quiet_tensorflow_import()
    import keras

    def read(part):
        path = folder / f"{part}.keras"
        if not path.is_file():
            return None
        return read_saved(path, lambda p: keras.models.load_model(p, compile=False, safe_mode=True))

    return SavedAutoencoder(read("encoder"), read("decoder"))
