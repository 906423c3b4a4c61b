"""One palette for clusters, so cluster 3 has the same colour (and marker) in every chart of a run.

The ten colours come from Okabe & Ito's and Paul Tol's colour-blind safe sets, chosen so that every two
of them (and the noise grey, and the white background) stay apart for viewers with deuteranopia,
protanopia or tritanopia (at least 18 CIELAB units apart after Machado et al.'s 2009 simulation; see
tests/test_charts.py). Past ten clusters the colours repeat with another marker symbol, so that the
pair (colour, symbol) stays unique for the first 100 clusters.
"""
from __future__ import annotations

import numpy as np
from core.metrics import match_clusters

NOISE_COLOR = "#9e9e9e"
# One colour per metric, the same in every chart (score bars of a run, Compare's grouped bars).
METRIC_COLOURS = {"ACC": "#1f77b4", "NMI": "#2ca02c", "ARI": "#9467bd", "Purity": "#8c564b", "Silhouette": "#ff7f0e",
                  "UMAP silhouette": "#17becf"}
# In an order where each colour is as far as it can be from those before it (CIEDE2000, normal vision):
# a run of three clusters is blue, orange and purple (at least 43 apart), not two blues (22 apart), and the
# first five stay at least 33 apart (tests/test_charts.py).
PALETTE = (
    "#0072B2",  # blue (Okabe-Ito)
    "#E69F00",  # orange (Okabe-Ito)
    "#AA3377",  # purple (Tol bright)
    "#000000",  # black (Okabe-Ito)
    "#666633",  # olive (Tol dark)
    "#332288",  # indigo (Tol muted)
    "#56B4E9",  # sky blue (Okabe-Ito)
    "#D55E00",  # vermillion (Okabe-Ito)
    "#663333",  # brown (Tol dark)
    "#DDCC77",  # sand (Tol muted)
)
ACCENT = "#D55E00"  # vermillion: a line that marks something on a chart (a cut, a threshold), not a cluster
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "cross", "x", "star", "pentagon",
           "hexagon")
NOISE_SYMBOL = "circle-open"


def cluster_color(cluster: int) -> str:
    """Colour of `cluster`; noise (-1) is grey."""
    cluster = int(cluster)
    if cluster < 0:
        return NOISE_COLOR
    return PALETTE[cluster % len(PALETTE)]


def cluster_symbol(cluster: int) -> str:
    """Plotly marker symbol of `cluster`: circles for the first ten clusters, squares for the next ten, and
    so on, so that (cluster_color, cluster_symbol) tells clusters 0 to 99 apart. Noise is an open circle."""
    cluster = int(cluster)
    if cluster < 0:
        return NOISE_SYMBOL
    return SYMBOLS[(cluster // len(PALETTE)) % len(SYMBOLS)]


def cluster_color_map(clusters) -> dict:
    """{str(cluster): colour} for Plotly's color_discrete_map (categories are strings there)."""
    return {str(int(c)): cluster_color(int(c)) for c in clusters}


def colour_ids(groups, clusters=None) -> dict:
    """{group: colour id} for the groups of a chart, so that switching a chart's colouring between clusters
    and true labels keeps the colours: a cluster keeps its own id; with `clusters` (the cluster of each
    sample, same order as `groups`), each true label takes the id of the cluster it is matched to by the
    Hungarian algorithm (:func:`core.metrics.match_clusters`), and labels left unmatched spare ids after them.

    Pass the result to :func:`cluster_color` / :func:`cluster_symbol` (or to `projection_scatter`).
    """
    groups = np.asarray(groups)
    if clusters is None:
        return {g.item(): int(g) for g in np.unique(groups)}

    return {int(k): int(v) for k, v in match_clusters(reference=np.asarray(clusters), other=groups).items()}

