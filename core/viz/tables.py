"""Tables of a tabular dataset (features given as a CSV, a parquet file or an npz of vectors)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from core.data.library import features_as_images


def feature_frame(data, positions: Optional[Sequence[int]] = None):
    """The rows at `positions` (all by default) as a DataFrame: file name (row), label when known, features."""
    import pandas as pd

    positions = np.arange(data.n_samples) if positions is None else np.asarray(positions, dtype=int)
    names = data.feature_names or [f"feature {j + 1}" for j in range(data.features.shape[1])]
    frame = pd.DataFrame(data.features[positions], columns=[str(n) for n in names])
    if data.has_labels:
        frame.insert(0, "label", [data.label_name(int(y)) for y in data.labels[positions]])
    frame.insert(0, "row", [data.file_name(int(i)) for i in positions])
    return frame


def cluster_profiles(data, labels: np.ndarray):
    """Each cluster's mean of every feature, scaled per feature to [0, 1] over the whole table (so features
    of different units share one axis): a DataFrame indexed by cluster id, columns the feature names."""
    import pandas as pd

    scaled = features_as_images(data.features).reshape(data.n_samples, -1)  # the one per-column scaling
    clusters = np.unique(labels)
    names = data.feature_names or [f"feature {j + 1}" for j in range(scaled.shape[1])]
    means = np.stack([scaled[labels == c].mean(axis=0) for c in clusters])
    return pd.DataFrame(means, index=clusters, columns=[str(n) for n in names])
