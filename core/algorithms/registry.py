"""Every algorithm the app offers, by name: a list of estimator classes, each of which declares its own facts
(name, title, description, parameters; core.algorithms.base). `AlgorithmSpec` is the form's view of one."""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from core.algorithms.autoencoder import AutoencoderGMM, AutoencoderKMeans
from core.algorithms.base import PARAMS_FILE, ClusteringAlgorithm, DamagedModel, read_saved
from core.algorithms.classical import (UMAPGMM, Agglomerative, DBSCANClustering, GaussianMixtureClustering,
                                       HDBSCANClustering, PixelKMeans, Spectral)
from core.algorithms.dec import DCEC, DEC, IDEC
from core.algorithms.n2d import N2D
from core.algorithms.som import SelfOrganizingMap
from core.algorithms.vade import VaDE
from core.params import ParamSpec


@dataclass(frozen=True)
class AlgorithmSpec:
    """What the form, the command line and sweeps know of one algorithm, read off its estimator class:
    `params` are the parameters the form shows (:class:`core.params.ParamSpec`, with the estimator's own
    defaults)."""

    name: str
    title: str
    estimator: type
    description: str
    params: Sequence[ParamSpec] = field(default_factory=tuple)
    deep: bool = False
    uses_n_clusters: bool = True

    @classmethod
    def of(cls, estimator: type) -> "AlgorithmSpec":
        defaults = {name: p.default for name, p in inspect.signature(estimator).parameters.items()}
        declared = {p.name for p in estimator.parameters}
        if declared != set(defaults):  # one declaration for every constructor parameter, and no other
            raise TypeError(f"{estimator.__name__} declares {sorted(declared ^ set(defaults))} differently from "
                            "its constructor.")
        params = tuple(p.spec(defaults[p.name]) for p in estimator.parameters if p.on_form)
        return cls(estimator.name, estimator.title, estimator, estimator.description, params, estimator.deep,
                   estimator.uses_n_clusters)

    @property
    def family(self) -> str:
        return "Deep" if self.deep else "Classical"

    def param(self, name: str) -> Optional[ParamSpec]:
        return next((p for p in self.params if p.name == name), None)

    def build(self, n_clusters: int, **params) -> ClusteringAlgorithm:
        """An estimator with `n_clusters` (ignored by methods that find the count themselves) and the
        given parameters (others at their defaults)."""
        known = {p.name for p in self.params} | {"random_state"}
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"{self.title} has no parameter(s) {', '.join(sorted(unknown))}.")
        if self.uses_n_clusters:
            params["n_clusters"] = n_clusters
        return self.estimator(**params)



# The algorithms the app offers, in the form's order. Each class declares its own name, title, description
# and parameters; adding a method is its module and one line here.
ESTIMATORS = (
    AutoencoderKMeans, AutoencoderGMM, DEC, IDEC, DCEC, VaDE, SelfOrganizingMap, N2D,
    PixelKMeans, Agglomerative, DBSCANClustering, HDBSCANClustering, GaussianMixtureClustering, UMAPGMM, Spectral,
)
ALGORITHMS: dict[str, AlgorithmSpec] = {cls.name: AlgorithmSpec.of(cls) for cls in ESTIMATORS}
# The first thing a new user runs shows deep clustering at its best at a reasonable time: N2D measured
# NMI 0.91 on digits (AE + k-means 0.76) in about the same time (docs/benchmarks.md).
DEFAULT_ALGORITHM = "n2d"


def get_algorithm(name: str) -> AlgorithmSpec:
    if name not in ALGORITHMS:
        raise KeyError(f"unknown algorithm {name!r}; available: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[name]


def load_estimator(folder, *, image_shape=None) -> ClusteringAlgorithm:
    """The estimator saved in `folder` (by :meth:`ClusteringAlgorithm.save`, or by a run of an earlier
    release, which takes `image_shape`), whichever algorithm it is. Raises ValueError for a folder that
    holds none of this app's estimators, and DamagedModel (a ValueError) naming the file when one is
    missing, truncated or unreadable."""
    saved = read_saved(Path(folder) / PARAMS_FILE, lambda path: json.loads(path.read_text(encoding="utf-8")))
    if not isinstance(saved, dict):
        raise DamagedModel(f"the saved model's {PARAMS_FILE} in {folder} is damaged: it is not a JSON object.")
    by_class = {spec.estimator.__name__: spec.estimator for spec in ALGORITHMS.values()}
    if saved.get("estimator") not in by_class:
        raise ValueError(f"{folder} holds no estimator of this app (it names {saved.get('estimator')!r}).")
    return by_class[saved["estimator"]].load(folder, image_shape=image_shape)
