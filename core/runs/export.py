"""What a user takes away from a run: labels as CSV, arrays as .npz, the trained model as a zip."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from core.experiment import ClusteringResult


def confidence(result: ClusteringResult) -> np.ndarray:
    """Each sample's confidence in its cluster where the algorithm gives one (soft assignments,
    membership strength), else NaN."""
    values = result.view_data.get("confidence")
    if values is None or len(values) != len(result.labels):
        return np.full(len(result.labels), np.nan)
    return np.asarray(values, dtype=np.float64)


def labels_csv(result: ClusteringResult) -> bytes:
    """CSV with one row per image: index (in the full dataset), cluster (-1 = noise), confidence, true label."""
    data = result.dataset
    table = pd.DataFrame({"index": data.indices, "cluster": result.labels, "confidence": confidence(result)})
    table["true_label"] = data.labels if data.has_labels else pd.NA
    return table.to_csv(index=False, float_format="%.6g").encode()


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
    from core.algorithms import get_algorithm
    from core.runs.artifacts import MODEL_README, zip_folder

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
    return f"{run}{result.config.algorithm}-{result.config.dataset}"
