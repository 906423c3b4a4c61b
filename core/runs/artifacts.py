"""A finished run's arrays, view data, preview and model, written to and read from its folder.

Files in a run folder:
``arrays.npz``    labels, embedding, projection_<method> for each 2-D projection, indices (positions in
                  the full dataset) and true_labels when the data has them
``view.npz``      the array part of the algorithm's view data; ``view.json`` the rest (numbers, names)
``preview.png``   a few images of each cluster, one row per cluster
``frames.npz``    pictures of a sample taken while the network trained (the live view, replayed on Train and
                  Model): the sample's positions, each frame's 2-D points and clusters, its phase and epoch
                  (:func:`core.progress.frames_to_arrays`); only where a network trained, and absent from
                  runs made before
``model/``        the fitted estimator, as its own ``save`` writes it (read back by
                  ``core.algorithms.load_estimator``): networks in the Keras format (``*.keras``, whole-model
                  weights in ``*.weights.h5``), fitted arrays in ``state.npz``, parameters in ``params.json``
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from core.data.arrays import UnreadableArrays, npz_headers
from core.experiment import ClusteringResult, prepare_data
from core.data.images import image_grid
from core.metrics import metric_report_from_record
from core.progress import FRAME_ARRAYS, FRAME_PHASES, frames_from_arrays, frames_to_arrays
from core.viz.tables import cluster_profiles

PREVIEW_PER_CLUSTER = 8
PREVIEW_MAX_CLUSTERS = 20
MODEL_README = """Trained model of run {run_id}: {title} ({algorithm}) on {dataset}.

With this project's code, the whole estimator, ready to place new images (preprocessed as the run's were):
    from core.algorithms import load_estimator
    model = load_estimator(".")                         # then model.predict(X), model.transform(X)
Without it, load the Keras parts with
    import keras
    encoder = keras.models.load_model("encoder.keras")    # images (flattened for dense models) -> embedding
    decoder = keras.models.load_model("decoder.keras")    # embedding -> images
state.npz holds the fitted arrays (cluster centres, prototypes, ...) by attribute name, params.json the
estimator's parameters, and *.weights.h5 the weights of whole models (load with model.load_weights after
building the same model from core with those parameters).
"""


def _save_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:  # a file handle keeps numpy from appending its own ".npz"
        np.savez_compressed(handle, **arrays)


def add_saved_projection(directory: Path, run_id: int, method: str, points) -> None:
    """Add (or replace) the `method` projection in the saved arrays of run `run_id`. The file is written
    beside the old one and then swapped in, so a failure leaves the run as it was."""
    import os

    arrays, _ = read_saved_arrays(directory, run_id)
    points = np.asarray(points, dtype=np.float32)
    if points.shape != (len(arrays["labels"]), 2):
        raise ValueError(f"a projection of run {run_id} must hold {len(arrays['labels']):,} points of 2 "
                         f"coordinates, not an array of shape {points.shape}.")
    arrays[f"projection_{method}"] = points
    partial = directory / "arrays.npz.partial"
    _save_npz(partial, arrays)
    os.replace(partial, directory / "arrays.npz")


def _split_view_data(view_data: dict) -> tuple[dict, dict]:
    arrays, plain = {}, {}
    for key, value in view_data.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            arrays[key] = value
        elif isinstance(value, np.generic):
            plain[key] = value.item()
        else:
            plain[key] = value
    return arrays, plain


def write_model(directory: Path, estimator) -> None:
    """Save `estimator`'s trained state to `directory` (its own :meth:`save`; labels and embedding are in
    ``arrays.npz``)."""
    estimator.save(directory, training_arrays=False)


def write_preview(path: Path, result: ClusteringResult) -> None:
    """A PNG with up to PREVIEW_PER_CLUSTER images of each of the first PREVIEW_MAX_CLUSTERS clusters (for a
    table: each cluster's mean feature profile as a row of gray cells, dark = low, light = high)."""
    from PIL import Image

    if result.dataset.is_table:
        profiles = cluster_profiles(result.dataset, result.labels).to_numpy()[:PREVIEW_MAX_CLUSTERS]
        cell = max(4, 256 // profiles.shape[1])
        picture = np.repeat(np.repeat(profiles, 16, axis=0), cell, axis=1)
        Image.fromarray((np.clip(picture, 0, 1) * 255).round().astype(np.uint8)).save(path, format="PNG")
        return

    rng = np.random.default_rng(0)
    images, tiles_per_row = [], PREVIEW_PER_CLUSTER
    blank = np.ones_like(result.dataset.images[0])
    for cluster in np.unique(result.labels)[:PREVIEW_MAX_CLUSTERS]:
        members = result.members(cluster)
        chosen = np.sort(rng.choice(members, size=min(tiles_per_row, len(members)), replace=False))
        row = [result.dataset.images[i] for i in chosen]
        images.extend(row + [blank] * (tiles_per_row - len(row)))
    grid = image_grid(np.stack(images), n_cols=tiles_per_row, size=32)
    Image.fromarray(grid).save(path, format="PNG")


def write_artifacts(directory: Path, result: ClusteringResult, estimator=None) -> None:
    """Write every artifact of `result` (and `estimator`'s model when given) into `directory`."""
    arrays = {"labels": np.asarray(result.labels), "embedding": np.asarray(result.embedding, dtype=np.float32),
              "indices": np.asarray(result.dataset.indices)}
    for method, points in result.projections.items():
        arrays[f"projection_{method}"] = np.asarray(points, dtype=np.float32)
    if result.dataset.has_labels:
        arrays["true_labels"] = result.dataset.labels
    _save_npz(directory / "arrays.npz", arrays)
    view_arrays, view_plain = _split_view_data(result.view_data)
    _save_npz(directory / "view.npz", view_arrays)
    (directory / "view.json").write_text(json.dumps(view_plain, default=lambda v: v.tolist()
                                                    if isinstance(v, np.ndarray) else str(v)))
    write_preview(directory / "preview.png", result)
    if result.frames:
        _save_npz(directory / FRAMES_FILE, frames_to_arrays(result.frames))
    if estimator is not None:
        write_model(directory / "model", estimator)


class DamagedRun(ValueError):
    """A finished run whose saved files are missing or cannot be read; its record stays usable."""


ARRAYS_NEEDED = ("labels", "embedding", "indices")
FRAMES_FILE = "frames.npz"
MAX_FRAMES = 1000              # a run takes about 15-35 (core.algorithms.watch)
MAX_FRAME_SAMPLE = 20_000      # images in a frame (2,000 taken today)
MAX_SAVED_BYTES = 4 * 2**30    # the arrays of one run once read: 70,000 images with an 8,192-wide embedding fit
MIN_WIDTH_BOUND = 4096         # an embedding may be wider than the images (a backbone's 768 features of 8x8 digits)


def check_saved_arrays(directory: Path, *, n_samples: Optional[int] = None, n_features: Optional[int] = None) -> None:
    """Refuse, from the arrays' headers alone (nothing is expanded), saved arrays a run could not have made:
    a name this app never writes, a shape that is not one per image (or one 2-D point per image), labels or
    indices that are not whole numbers, an embedding wider than the data allows, more bytes than any run
    has. `n_samples` is the record's count of images, `n_features` the values of one image of its dataset
    (both known when a run is imported; when omitted, the labels' length is the count). Raises
    UnreadableArrays naming the array."""
    arrays, view = _headers(directory, "arrays.npz"), _headers(directory, "view.npz")
    missing = [key for key in ARRAYS_NEEDED if key not in arrays]
    if missing:
        raise UnreadableArrays(f"arrays.npz holds no {', '.join(missing)}")
    n = arrays["labels"].shape[0] if arrays["labels"].shape else -1
    if n_samples is not None and n != n_samples:
        raise UnreadableArrays(f"arrays.npz: 'labels' holds {n:,} values for a run of {n_samples:,} images")
    width = max(MIN_WIDTH_BOUND, n_features) if n_features else None
    for name, header in arrays.items():
        kinds, shape = _expected(name, header, n, width)
        if kinds is None:
            raise UnreadableArrays(f"arrays.npz holds an array {name!r}, which no run saves")
        if header.shape != shape or header.dtype.kind not in kinds:
            raise UnreadableArrays(f"arrays.npz: array {name!r} is {header.shape} {header.dtype}, not one "
                                   f"{'whole number' if kinds == 'iu' else 'row of numbers'} per image"
                                   + (f" (at most {width:,} wide)" if name == "embedding" and width else ""))
    frames = _checked_frame_headers(directory, n)
    total = sum(h.nbytes for h in (*arrays.values(), *view.values(), *frames.values()))
    bound = min(MAX_SAVED_BYTES, max(n, 1) * (width + 16) * 8 + 64 * 2**20) if width else MAX_SAVED_BYTES
    if total > bound:
        raise UnreadableArrays(f"its arrays declare {total / 2**20:,.0f} MB, more than a run of {max(n, 0):,} "
                               f"images saves ({bound / 2**20:,.0f} MB at most)")


def _expected(name: str, header, n: int, width: Optional[int]) -> tuple:
    """(dtype kinds, shape) a saved array of this name has in a run of `n` images; (None, None) for a name
    no run saves."""
    if name in ("labels", "indices", "true_labels"):
        return "iu", (n,)
    if name.startswith("projection_"):
        return "f", (n, 2)
    if name == "embedding":
        wide = header.shape[1] if len(header.shape) == 2 else 0
        return "f", (n, wide if 0 < wide <= (width or wide) else -1)
    return None, None


def _checked_frame_headers(directory: Path, n: int) -> dict:
    """The headers of the run's frames.npz ({} when it has none: runs made before, runs where nothing trained),
    refused (UnreadableArrays) unless they are the arrays frames are saved as: a sample of at most the run's
    images, and per frame its points (2 each), its clusters, its phase and its epochs."""
    if not (directory / FRAMES_FILE).is_file():
        return {}
    headers = _headers(directory, FRAMES_FILE)
    if set(headers) != set(FRAME_ARRAYS):
        raise UnreadableArrays(f"{FRAMES_FILE} holds {', '.join(sorted(headers)) or 'nothing'}, not the arrays of "
                               f"a run's frames ({', '.join(FRAME_ARRAYS)})")
    sample, points = headers["sample"].shape, headers["points"].shape
    m = sample[0] if len(sample) == 1 else -1
    count = points[0] if len(points) == 3 else -1
    if not 0 < m <= min(max(n, 0), MAX_FRAME_SAMPLE) or not 0 < count <= MAX_FRAMES:
        raise UnreadableArrays(f"{FRAMES_FILE}: {sample} sample positions and {points} points are not frames of "
                               f"a run of {max(n, 0):,} images (at most {MAX_FRAMES:,} frames)")
    expected = {"sample": ("iu", (m,)), "points": ("f", (count, m, 2)), "labels": ("iu", (count, m)),
                **{name: ("iu", (count,)) for name in ("phases", "epochs", "n_epochs")}}
    for name, (kinds, shape) in expected.items():
        header = headers[name]
        if header.shape != shape or header.dtype.kind not in kinds:
            raise UnreadableArrays(f"{FRAMES_FILE}: array {name!r} is {header.shape} {header.dtype}, not "
                                   f"{shape} {'whole numbers' if kinds == 'iu' else 'numbers'}")
    return headers


def read_saved_frames(directory: Path, run_id: int, n: int, truth=None) -> list:
    """The frames run `run_id` saved (a list of core.progress.Frame; empty when it has none), `truth` the true
    labels of the run's images where known; DamagedRun when frames.npz is not what a run saves."""
    if not (directory / FRAMES_FILE).is_file():
        return []
    try:
        _checked_frame_headers(directory, n)
        with np.load(directory / FRAMES_FILE, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        sample = arrays["sample"].astype(np.int64)
        if sample.min() < 0 or sample.max() >= n or np.any(np.diff(sample) <= 0):
            raise UnreadableArrays(f"{FRAMES_FILE}: its sample is not positions of the run's {n:,} images")
        if arrays["phases"].min() < 0 or arrays["phases"].max() >= len(FRAME_PHASES):
            raise UnreadableArrays(f"{FRAMES_FILE}: a frame's phase is none of {', '.join(FRAME_PHASES)}")
        if not np.all(np.isfinite(arrays["points"])):
            raise UnreadableArrays(f"{FRAMES_FILE}: a frame's points are not all numbers")
    except UnreadableArrays as error:
        raise DamagedRun(f"the saved files of run {run_id} are damaged: {error}. Its record and scores are "
                         "kept; delete the run, or train it again.") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DamagedRun(f"the saved files of run {run_id} are damaged: {FRAMES_FILE} cannot be read "
                         f"({type(error).__name__}). Its record and scores are kept; delete the run, or train it "
                         "again.") from None
    return frames_from_arrays(arrays, None if truth is None else np.asarray(truth)[sample])


def _headers(directory: Path, file: str) -> dict:
    if not (directory / file).is_file():
        raise UnreadableArrays(f"{file} is missing")
    try:
        return npz_headers(directory / file)
    except UnreadableArrays as error:
        reason = "it holds Python objects" if "Python objects" in str(error) else str(error)
        raise UnreadableArrays(f"{file} cannot be read ({reason})") from None


def read_saved_arrays(directory: Path, run_id: int) -> tuple[dict, dict]:
    """(arrays, view data) of run `run_id` from its folder; DamagedRun naming the file when one is
    missing, truncated or not what it should be."""
    import zipfile

    current = "the run's folder"
    try:
        if not directory.is_dir():
            raise FileNotFoundError("missing")
        for current in ("arrays.npz", "view.npz"):
            if not (directory / current).is_file():
                raise FileNotFoundError("missing")
        current = "arrays.npz"
        check_saved_arrays(directory)   # sizes from the headers, before anything is expanded
        with np.load(directory / "arrays.npz", allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        missing = [key for key in ARRAYS_NEEDED if key not in arrays]
        if missing:
            raise KeyError(f"no {', '.join(missing)}")
        current = "view.npz"
        with np.load(directory / "view.npz", allow_pickle=False) as stored:
            view_data = {key: stored[key] for key in stored.files}
        current = "view.json"
        view_data.update(json.loads((directory / "view.json").read_text()))
    except FileNotFoundError:
        raise DamagedRun(f"the saved files of run {run_id} are damaged: {current} is missing from {directory}. "
                         "Its record and scores are kept; delete the run, or train it again.") from None
    except UnreadableArrays as error:
        raise DamagedRun(f"the saved files of run {run_id} are damaged: {error}. Its record and scores are "
                         "kept; delete the run, or train it again.") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        # ValueError includes numpy's refusal of pickled objects: such a file was not written by this app.
        reason = "it holds Python objects" if "pickle" in str(error) else (
            str(error.args[0]) if isinstance(error, KeyError) else type(error).__name__ if not str(error)
            else str(error))
        raise DamagedRun(f"the saved files of run {run_id} are damaged: {current} cannot be read ({reason}). "
                         "Its record and scores are kept; delete the run, or train it again.") from None
    return arrays, view_data


def read_artifacts(directory: Path, record, dataset=None) -> ClusteringResult:
    """The ClusteringResult of finished run `record` from its folder; images come from `dataset` (the full
    dataset the run used) or are loaded again from the dataset registry."""

    arrays, view_data = read_saved_arrays(directory, record.id)

    data, _ = prepare_data(record.config, dataset)
    if data.n_samples != len(arrays["labels"]) or not np.array_equal(data.indices, arrays["indices"]):
        raise ValueError(f"the images of {record.dataset} differ from those run {record.id} was trained on "
                         f"({data.n_samples:,} now, {len(arrays['labels']):,} then).")
    projections = {key[len("projection_"):]: value for key, value in arrays.items() if key.startswith("projection_")}
    frames = read_saved_frames(directory, record.id, len(arrays["labels"]), data.labels if data.has_labels else None)
    return ClusteringResult(
        config=record.config, dataset=data, labels=arrays["labels"], embedding=arrays["embedding"],
        n_clusters=int(record.n_clusters), estimator_params=record.estimator_params, history=record.history,
        timings=dict(record.timings), metrics=metric_report_from_record(record.metrics), projections=projections,
        started_at=record.started_at, versions=record.versions, view_data=view_data, run_id=record.id,
        cluster_names=dict(record.cluster_names), parent_id=record.parent_id, frames=frames,
    )


def zip_folder(directory: Path, readme: str = "") -> bytes:
    """The files under `directory` as a zip archive (plus README.txt when given)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
        if readme:
            archive.writestr("README.txt", readme)
    return buffer.getvalue()
