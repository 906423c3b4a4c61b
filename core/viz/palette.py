"""One palette for clusters, so cluster 3 has the same colour in every chart of a run."""
from __future__ import annotations

import plotly.colors as pc

NOISE_COLOR = "#9e9e9e"
_BASE = pc.qualitative.D3 + pc.qualitative.Set2 + pc.qualitative.Pastel1 + pc.qualitative.Dark24


def cluster_color(cluster: int) -> str:
    """Colour of `cluster`; noise (-1) is grey."""
    if cluster < 0:
        return NOISE_COLOR
    return _BASE[cluster % len(_BASE)]


def cluster_color_map(clusters) -> dict:
    """{str(cluster): colour} for Plotly's color_discrete_map (categories are strings there)."""
    return {str(int(c)): cluster_color(int(c)) for c in clusters}
