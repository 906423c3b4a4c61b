"""Images picked on a 2-D projection: a box, a lasso or a few clicked points, and what they hold.

A selection is kept as what the user drew (a box or a lasso polygon, in the coordinates of the
projection it was drawn on), never as thousands of row numbers: that is what travels in a shared link,
and the rows it holds are found again from the run's points. A few clicked points are kept by their rows.

Also here, because a page opens single images the same way: a point's nearest neighbours in the space
the clustering used, and the members of one cell of the cluster-versus-label table, least confident first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

KINDS = ("box", "lasso", "rows")
MAX_VERTICES = 120   # a lasso is thinned to this many corners: enough for a hand-drawn outline, short in a URL
MAX_ROWS = 200       # clicked points kept by row number (a larger pick is drawn as a box or lasso)
N_NEIGHBOURS = 10


class InvalidSelection(ValueError):
    """A selection that cannot be read (a hand-edited link, a malformed chart event)."""


@dataclass(frozen=True)
class Selection:
    """Images picked on the `method` projection ("umap", "pca") of a run.

    kind "box": `x` and `y` are the box's (low, high) corners; "lasso": the polygon's corners;
    "rows": `rows` are the picked positions in the run's data (no shape).
    """

    kind: str
    method: str = "umap"
    x: tuple = ()
    y: tuple = ()
    rows: tuple = ()

    def __post_init__(self):
        # Corners are kept as a link writes them, so a selection and the same one read from its link hold
        # the same images (a point on the outline would otherwise fall in or out with the rounding).
        object.__setattr__(self, "x", tuple(float(_short(v)) for v in self.x))
        object.__setattr__(self, "y", tuple(float(_short(v)) for v in self.y))
        if self.kind not in KINDS:
            raise InvalidSelection(f"unknown selection kind {self.kind!r} (one of {', '.join(KINDS)})")
        if not str(self.method).isidentifier():
            raise InvalidSelection(f"unknown projection {self.method!r}")
        corners = {"box": 2, "lasso": 3}.get(self.kind, 0)
        if self.kind != "rows" and (len(self.x) != len(self.y) or len(self.x) < corners
                                    or not np.all(np.isfinite(np.asarray(self.x + self.y, dtype=np.float64)))):
            raise InvalidSelection(f"a {self.kind} needs at least {corners} finite corners")
        if self.kind == "rows" and (not self.rows or len(self.rows) > MAX_ROWS or min(self.rows) < 0):
            raise InvalidSelection(f"a pick of points holds 1 to {MAX_ROWS} row numbers, none negative")

    # --- what it holds -------------------------------------------------------------------------
    def rows_in(self, points: np.ndarray) -> np.ndarray:
        """Positions (sorted) of the `points` (n, 2) inside the shape, or the picked rows that exist."""
        points = np.asarray(points, dtype=np.float64)
        if self.kind == "rows":
            rows = np.unique(np.asarray(self.rows, dtype=np.int64))
            return rows[rows < len(points)]
        if self.kind == "box":
            (x0, x1), (y0, y1) = sorted(self.x[:2]), sorted(self.y[:2])
            inside = (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
            return np.flatnonzero(inside)
        return np.flatnonzero(inside_polygon(points, np.column_stack([self.x, self.y])))

    # --- from and to a chart event and a URL ------------------------------------------------------
    @classmethod
    def from_event(cls, selection: Optional[dict], method: str, n_traces: Optional[int] = None) -> Optional["Selection"]:
        """The selection in a Streamlit Plotly selection event (``event.selection``), or None when it
        is empty. The last box or lasso drawn wins; clicked points are read by the row each carries as
        its first `customdata` value (a point's number is per trace, so never used), from the first
        `n_traces` traces only (those of the run's points; traces drawn over them carry other data)."""
        if not selection:
            return None
        for kind in ("lasso", "box"):
            shapes = selection.get(kind) or []
            if shapes:
                shape = shapes[-1]
                x, y = _thin(list(shape.get("x", ())), list(shape.get("y", ())))
                return cls(kind, method, x=x, y=y)
        rows = []
        for point in selection.get("points") or []:
            if n_traces is not None and int(point.get("curve_number", 0)) >= n_traces:
                continue
            custom = custom_values(point.get("customdata"))
            if custom:
                try:
                    rows.append(int(custom[0]))
                except (TypeError, ValueError):
                    continue
        rows = tuple(sorted(set(r for r in rows if r >= 0)))[:MAX_ROWS]
        return cls("rows", method, rows=rows) if rows else None

    def to_text(self) -> str:
        """A short text for a URL: ``lasso:umap:x1,y1;x2,y2;...``, ``box:pca:x0,y0;x1,y1``,
        ``rows:umap:3,17,42``."""
        if self.kind == "rows":
            body = ",".join(str(int(r)) for r in self.rows)
        else:
            body = ";".join(f"{_short(a)},{_short(b)}" for a, b in zip(self.x, self.y))
        return f"{self.kind}:{self.method}:{body}"

    @classmethod
    def from_text(cls, text: str) -> "Selection":
        """The selection written by :meth:`to_text`; InvalidSelection for anything else."""
        try:
            kind, method, body = str(text).split(":", 2)
            if kind == "rows":
                return cls(kind, method, rows=tuple(sorted({int(r) for r in body.split(",")})))
            pairs = [pair.split(",") for pair in body.split(";")]
            if len(pairs) > MAX_VERTICES + 1 or any(len(p) != 2 for p in pairs):
                raise InvalidSelection(f"a {kind} has at most {MAX_VERTICES} corners, each an x,y pair")
            return cls(kind, method, x=tuple(float(p[0]) for p in pairs), y=tuple(float(p[1]) for p in pairs))
        except InvalidSelection:
            raise
        except (ValueError, TypeError) as error:
            raise InvalidSelection(f"not a selection: {str(text)[:60]!r}") from error

    def describe(self, n_rows: int) -> str:
        """"Lasso: 312 images", for a heading."""
        what = {"box": "Box", "lasso": "Lasso", "rows": "Picked points"}[self.kind]
        return f"{what}: {n_rows:,} image{'s' if n_rows != 1 else ''}"


def custom_values(custom) -> list:
    """A clicked point's `customdata` as a list: Plotly hands back a row of a typed array as {"0": .., "1": ..}."""
    if isinstance(custom, dict):
        try:
            return [custom[key] for key in sorted(custom, key=int)]
        except (TypeError, ValueError):
            return []
    return list(custom) if isinstance(custom, (list, tuple)) else []


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Whether each of `points` (n, 2) lies inside the closed `polygon` (m, 2), by the even-odd rule
    (a ray cast to the right crosses the outline an odd number of times), one edge at a time so the
    memory stays O(n) for 70,000 points."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    corners = np.asarray(polygon, dtype=np.float64)
    for (x1, y1), (x2, y2) in zip(corners, np.roll(corners, -1, axis=0)):
        if y1 == y2:
            continue  # a flat edge is never crossed by a horizontal ray
        straddles = (y1 > y) != (y2 > y)
        crossing = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= straddles & (x < crossing)
    return inside


def _thin(x: list, y: list) -> tuple[tuple, tuple]:
    """At most MAX_VERTICES corners, evenly spaced along the drawn outline (plotly sends one per mouse move)."""
    if len(x) > MAX_VERTICES:
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_VERTICES).round().astype(int))
        x, y = [x[i] for i in keep], [y[i] for i in keep]
    return tuple(float(v) for v in x), tuple(float(v) for v in y)


def _short(value: float) -> str:
    """Six significant digits: a link stays short and a corner moves by a millionth of the view at most."""
    return f"{float(value):.6g}"


# --- what a set of rows is made of ---------------------------------------------------------------------
def makeup(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, counts), largest count first (ties by value): a selection's clusters or labels."""
    distinct, counts = np.unique(np.asarray(values), return_counts=True)
    order = np.lexsort((distinct, -counts))
    return distinct[order], counts[order]


def nearest_rows(space: np.ndarray, row: int, k: int = N_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """The `k` rows nearest to `row` in `space` (n, d), nearest first, and their Euclidean distances
    (the row itself left out). One query: a pass over the points, fast enough for 70,000 of them."""
    space = np.asarray(space, dtype=np.float32).reshape(len(space), -1)
    if not 0 <= row < len(space):
        raise IndexError(f"row {row} is not in a space of {len(space)} points")
    distances = np.sqrt(np.maximum(((space - space[row]) ** 2).sum(axis=1), 0.0))
    distances[row] = np.inf
    k = min(k, len(space) - 1)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    nearest = np.argpartition(distances, k - 1)[:k]
    nearest = nearest[np.lexsort((nearest, distances[nearest]))]
    return nearest.astype(np.int64), distances[nearest].astype(np.float64)


def least_confident_first(rows: Sequence[int], confidence: Optional[np.ndarray]) -> np.ndarray:
    """`rows` ordered least confident first (the images a person should look at); as given where the
    method has no confidence (NaN)."""
    rows = np.asarray(rows, dtype=np.int64)
    if confidence is None or len(rows) == 0:
        return rows
    values = np.asarray(confidence, dtype=np.float64)[rows]
    if np.all(np.isnan(values)):
        return rows
    return rows[np.argsort(np.where(np.isnan(values), np.inf, values), kind="stable")]


def cell_rows(clusters: np.ndarray, labels: np.ndarray, cluster: int, label: int,
              confidence: Optional[np.ndarray] = None) -> np.ndarray:
    """The rows in `cluster` whose true label is `label` (one cell of the contingency table), least
    confident first."""
    rows = np.flatnonzero((np.asarray(clusters) == cluster) & (np.asarray(labels) == label))
    return least_confident_first(rows, confidence)


def spread_rows(points: np.ndarray, cells: int = 20) -> np.ndarray:
    """A spread-out sample of `points` (n, 2) for an image map: the view cut into `cells` x `cells` squares,
    and in each square that holds points the one nearest its centre (at most cells**2 rows, sorted)."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 0:
        return np.empty(0, dtype=np.int64)
    low, high = points.min(axis=0), points.max(axis=0)
    size = np.maximum(high - low, 1e-12) / cells
    cell = np.minimum(((points - low) / size).astype(np.int64), cells - 1)
    centre = low + (cell + 0.5) * size
    distance = ((points - centre) ** 2).sum(axis=1)
    key = cell[:, 0] * cells + cell[:, 1]
    order = np.lexsort((distance, key))          # by square, nearest its centre first
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    return np.sort(order[first])
