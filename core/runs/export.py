"""What a user takes away from a run: labels as CSV, arrays as .npz, the trained model as a zip."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from core.experiment import ClusteringResult
from core.algorithms import get_algorithm
from core.data.images import to_uint8
from core.runs.artifacts import MODEL_README, zip_folder
from core.viz.tables import feature_frame
from core.vocabulary import cluster_name


def confidence(result: ClusteringResult) -> np.ndarray:
    """Each sample's confidence in its cluster where the algorithm gives one (soft assignments,
    membership strength), else NaN."""
    values = result.view_data.get("confidence")
    if values is None or len(values) != len(result.labels):
        return np.full(len(result.labels), np.nan)
    return np.asarray(values, dtype=np.float64)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def spreadsheet_safe(text) -> str:
    """`text` as a CSV cell a spreadsheet shows as text: one starting like a formula ("=HYPERLINK(...)",
    "+1", "@SUM") gets a leading apostrophe, as OWASP advises for CSV injection; numbers are not text here."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _safe_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell made `spreadsheet_safe` (file names, names people gave, labels)."""
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
            frame[column] = [spreadsheet_safe(v) if isinstance(v, str) else v for v in frame[column]]
    return frame


def labels_csv(result: ClusteringResult, rows: Optional[Sequence[int]] = None) -> bytes:
    """CSV with one row per image (all, or the positions `rows` of a selection, in that order): index
    (in the full dataset), file name (for saved datasets), cluster (-1 = noise), the cluster's name where a
    person named clusters, confidence, true label (by its name)."""
    data = result.dataset
    rows = np.arange(len(result.labels)) if rows is None else np.asarray(rows, dtype=np.int64)
    table = pd.DataFrame({"index": np.asarray(data.indices)[rows]})
    if data.file_names is not None:
        table["file"] = [data.file_names[i] for i in rows]
    table["cluster"] = result.labels[rows]
    if result.cluster_names:
        table["cluster_name"] = [result.cluster_label(c) for c in result.labels[rows]]
    table["confidence"] = confidence(result)[rows]
    table["true_label"] = [data.label_name(int(data.labels[i])) for i in rows] if data.has_labels else pd.NA
    return _safe_text(table).to_csv(index=False, float_format="%.6g").encode()


def cluster_folders_zip(result: ClusteringResult, rows: Optional[Sequence[int]] = None) -> bytes:
    """The run's images (all, or the positions `rows` of a selection) sorted into one folder per cluster
    ("cluster 3/", "noise/"), each under its original file name (or its dataset index); a table's rows go
    to one CSV per cluster instead."""
    import zipfile

    from PIL import Image

    data = result.dataset
    chosen = np.zeros(len(result.labels), dtype=bool)
    chosen[np.arange(len(chosen)) if rows is None else np.asarray(rows, dtype=np.int64)] = True
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        folders: set = set()
        for cluster in np.unique(result.labels[chosen]):
            folder = _folder_name(result.cluster_label(cluster), cluster)
            if folder.lower() in folders:  # two clusters given one name keep apart
                folder = f"{folder} ({cluster_name(cluster)})"
            folders.add(folder.lower())
            members = np.flatnonzero((result.labels == cluster) & chosen)
            if data.is_table:
                archive.writestr(f"{folder}/rows.csv", _safe_text(feature_frame(data, members)).to_csv(index=False))
                continue
            used: set = set()
            for i in members:
                name = _member_file_name(data, int(i), used)
                with io.BytesIO() as image:
                    Image.fromarray(to_uint8(data.images[i], size=1)).save(image, format="PNG")
                    archive.writestr(f"{folder}/{name}", image.getvalue())
    return buffer.getvalue()


def _folder_name(name: str, cluster) -> str:
    """A cluster's name as one safe folder name in a zip (a person's name may hold slashes or dots)."""
    safe = "".join(c if c.isalnum() or c in " -_,()" else "_" for c in name).strip(" ._")
    return safe or cluster_name(cluster)


def _member_file_name(data, position: int, used: set) -> str:
    """`position`'s original base name as a .png (zip entry names are never paths), unique in its folder."""
    base = Path(str(data.file_name(position)).replace("\\", "/")).name if data.file_names is not None \
        else f"image-{int(data.indices[position]):06d}"
    stem = base.rsplit(".", 1)[0].lstrip(".") or f"image-{position}"
    name, n = f"{stem}.png", 2
    while name.lower() in used:
        name, n = f"{stem}-{n}.png", n + 1
    used.add(name.lower())
    return name


def arrays_npz(result: ClusteringResult) -> bytes:
    """The embedding, every 2-D projection computed, labels and dataset indices in one .npz archive."""
    arrays = {"embedding": np.asarray(result.embedding, dtype=np.float32), "labels": np.asarray(result.labels),
              "indices": np.asarray(result.dataset.indices)}
    if not result.projections:
        result.projection("pca")  # instant; UMAP is kept when the run made one
    for method, points in result.projections.items():
        arrays[f"projection_{method}"] = np.asarray(points, dtype=np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def model_zip(store, run_id: int) -> bytes:
    """The trained model of run `run_id` as a zip (Keras files, fitted arrays, parameters, a README)."""

    record = store.get(run_id)
    folder = Path(store.run_dir(run_id)) / "model"
    if not folder.is_dir():
        raise ValueError(f"run {run_id} has no saved model (it did not finish, or was made before models were "
                         "saved).")
    readme = MODEL_README.format(run_id=run_id, title=get_algorithm(record.algorithm).title,
                                 algorithm=record.algorithm, dataset=record.dataset)
    return zip_folder(folder, readme)


def file_stem(result: ClusteringResult) -> str:
    """A file name stem for downloads of this run, e.g. `run-12-dec-digits`."""
    run = f"run-{result.run_id}-" if result.run_id is not None else ""
    dataset = "".join(c if c.isalnum() or c in "-_." else "-" for c in result.config.dataset)
    return f"{run}{result.config.algorithm}-{dataset}"
