"""Watching a network learn: a training's frames (:class:`core.progress.Frame`, taken by
:mod:`core.algorithms.watch`) drawn as Plotly figures: the latest one while it trains, and all of them as an
animation with a slider and Play / Pause buttons afterwards (which also plays in an HTML file, no server).

Colours: a cluster is drawn in its palette colour (:func:`core.viz.palette.cluster_color`, the same in every
chart of a run), after each frame's clusters are matched (Hungarian, :func:`core.metrics.match_clusters`) to
the run's final clusters where the last frame holds them, else each to the frame before: cluster 3 keeps its
colour from frame to frame, and ends in the colour it has on Explore. True labels take the colour of the
cluster they are matched to (:func:`core.viz.palette.colour_ids`), as on Explore.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from core.metrics import match_clusters, relabel
from core.progress import Frame
from core.viz.figures import _LAYOUT
from core.viz.palette import PALETTE, cluster_color, cluster_symbol, colour_ids
from core.vocabulary import cluster_name

COLOUR_BY = ("clusters", "true labels")
CONTROLS = 140      # px under a replay's picture: its frame's caption, the slider, Play and Pause
PLAY_MS = 450        # each frame shown this long when played
TRANSITION_MS = 300  # points glide this long from one frame to the next
HEIGHT = 480         # px of a replay's picture
LIVE_HEIGHT = 420    # px of the live picture: with the page's top it fits a 1280x720 screen


def frame_caption(frame: Frame, index: Optional[int] = None, total: Optional[int] = None) -> str:
    """"Pretraining, epoch 5 of 75", "Clustering phase, epoch 3 of 30", "Result: the run's clusters"; with
    `index` (from 0) and `total`, "Frame 4 of 20 · pretraining, epoch 5 of 75"."""
    if frame.phase == "result":
        text = "result: the run's clusters"
    else:
        phase = "pretraining" if frame.phase == "pretrain" else "clustering phase"
        text = f"{phase}, epoch {frame.epoch} of {frame.n_epochs}"
    if index is not None and total:
        text = f"frame {index + 1} of {total} · {text}"
    return text[:1].upper() + text[1:]


def matched_labels(frames: Sequence[Frame]) -> list[np.ndarray]:
    """Each frame's clusters, numbered to match: each frame matched to the last when the last is the
    result (its numbers are the run's own), else each to the frame before it (as they come in, live)."""
    if not frames:
        return []
    if frames[-1].phase == "result":
        final = np.asarray(frames[-1].labels, dtype=np.int64)
        return [relabel(f.labels, match_clusters(reference=final, other=np.asarray(f.labels, dtype=np.int64)))
                for f in frames]
    matched = [np.asarray(frames[0].labels, dtype=np.int64)]
    for frame in frames[1:]:
        labels = np.asarray(frame.labels, dtype=np.int64)
        matched.append(relabel(labels, match_clusters(reference=matched[-1], other=labels)))
    return matched


def frames_truth(frames: Sequence[Frame]) -> Optional[np.ndarray]:
    """The true labels of the frames' sample (the first frame carries them), or None."""
    return frames[0].truth if frames and frames[0].truth is not None else None


def latest_frame_figure(frames: Sequence[Frame], *, colour_by: str = "clusters", truth_name=None,
                        title: str = "") -> go.Figure:
    """The newest of `frames` (what the live view shows), drawn on axes that fit every frame so far; titled by
    what it shows ("Pretraining, epoch 10 of 75 · frame 3") unless `title` is given."""
    labels = matched_labels(frames)
    groups, names = _groups(frames, labels, len(frames) - 1, colour_by, truth_name)
    layout = _layout(_reach(frames), title or f"{frame_caption(frames[-1])} · frame {len(frames)}", height=LIVE_HEIGHT)
    return _figure([_points(frames[-1], groups, colour_by, frames_truth(frames))] + _legend(names, colour_by), layout)


def replay_figure(frames: Sequence[Frame], *, colour_by: str = "clusters", truth_name=None,
                  title: str = "How the clusters formed") -> go.Figure:
    """Every frame as one animation, shown on the last (the result). Under the picture: the frame it shows
    ("Frame 4 of 20 · pretraining, epoch 5 of 75"), a slider to step through them, and Play (from the first)
    and Pause. Only the points move; the legend stays."""
    labels, truth = matched_labels(frames), frames_truth(frames)
    last = len(frames) - 1
    steps, animation = [], []
    for i, frame in enumerate(frames):
        groups, _ = _groups(frames, labels, i, colour_by, truth_name)
        animation.append(dict(name=str(i), data=[_points(frame, groups, colour_by, truth)], traces=[0]))
        steps.append(dict(method="animate", label=frame_caption(frame, i, len(frames)),
                          args=[[str(i)], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                               transition=dict(duration=0))]))
    groups, names = _groups(frames, labels, last, colour_by, truth_name)
    play = dict(frame=dict(duration=PLAY_MS, redraw=False), fromcurrent=False, mode="immediate",
                transition=dict(duration=TRANSITION_MS, easing="cubic-in-out"))
    pause = dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))
    layout = _layout(
        _reach(frames), title, height=HEIGHT + CONTROLS, margin=dict(_LAYOUT["margin"], b=CONTROLS),
        # The slider's ticks carry no words (a caption per tick would crowd them): the caption of the frame it
        # is on shows above it, and the buttons sit below, each on a line of its own in a narrow column.
        sliders=[dict(active=last, steps=steps, x=0, len=1, y=0, yanchor="top", pad=dict(t=36, b=0, l=0, r=0),
                      font=dict(color="rgba(0,0,0,0)", size=1), ticklen=4,
                      currentvalue=dict(visible=True, prefix="", xanchor="left", offset=6,
                                        font=dict(size=13, color="#31333f")))],
        updatemenus=[dict(type="buttons", direction="left", x=0, xanchor="left", y=0, yanchor="top",
                          pad=dict(t=CONTROLS - 40, r=10), showactive=False,
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate", args=[[None], pause])])],
    )
    return _figure([_points(frames[last], groups, colour_by, truth)] + _legend(names, colour_by), layout, animation)


def _groups(frames, labels: list, index: int, colour_by: str, truth_name) -> tuple[np.ndarray, dict]:
    """(colour id of each point of frame `index`, {colour id: legend name}): its matched cluster, or its
    true label in the colour of the cluster it is matched to."""
    clusters = labels[index]
    truth = frames_truth(frames)
    if colour_by != "true labels" or truth is None:
        return clusters, {int(c): cluster_name(c) for c in np.unique(clusters)}
    ids = colour_ids(truth, clusters=labels[-1])
    name = truth_name or str
    return (np.array([ids[int(t)] for t in truth], dtype=np.int64),
            {ids[int(t)]: name(int(t)) for t in np.unique(truth)})  # the legend in the labels' order


def _figure(data: list, layout: dict, frames: Sequence[dict] = ()) -> go.Figure:
    """A figure of the plain trace (and frame) dicts made here, taken as they are, and a layout checked by
    :func:`_layout`: checking a colour name per point of every frame took Plotly 4.2 s for 35 frames of 1,797
    points, against 0.6 s without."""
    return go.Figure(dict(data=data, layout=layout, frames=list(frames)), _validate=False)


def _points(frame: Frame, groups: np.ndarray, colour_by: str, truth=None) -> dict:
    """The frame's points, coloured by `groups`; hovering one says its cluster then (its true label, where the
    colours are the true labels' and `truth` holds them)."""
    points = np.asarray(frame.points, dtype=np.float32)
    # A colour name per point: numbers on a colour scale are smaller to send, but a transition between frames
    # blends them through the colours in between
    marker = dict(size=6, opacity=0.8, color=[cluster_color(g) for g in groups])
    if np.any(groups < 0) or np.any(groups >= len(PALETTE)):  # symbols tell apart what colours repeat
        marker["symbol"] = [cluster_symbol(g) for g in groups]
    by_truth = colour_by == "true labels" and truth is not None
    word = "true label" if by_truth else "cluster"
    return dict(type="scatter", x=points[:, 0], y=points[:, 1], mode="markers", marker=marker, showlegend=False,
                customdata=np.asarray(truth if by_truth else groups, dtype=np.int16),
                hovertemplate=f"{word} %{{customdata}}<extra></extra>")


def _legend(names: dict, colour_by: str) -> list:
    """Empty traces that only name the colours of the true labels (the animated trace draws every point), at
    most 20; none for clusters, whose numbers say nothing a colour does not (hovering a point names it)."""
    if colour_by != "true labels":
        return []
    return [dict(type="scatter", x=[None], y=[None], mode="markers", name=str(name), hoverinfo="skip",
                 marker=dict(size=8, color=cluster_color(g), symbol=cluster_symbol(g)))
            for g, name in list(names.items())[:20]]


def _reach(frames: Sequence[Frame]) -> float:
    """How far from the centre the axes reach: past nearly every point of every frame (each frame has a
    unit root-mean-square radius; a rare far point, left out of the picture, would shrink it for all)."""
    values = np.abs(np.concatenate([np.asarray(f.points, dtype=np.float32).ravel() for f in frames]))
    return float(np.percentile(values, 99.8)) * 1.1 or 1.0


def _layout(reach: float, title: str, **extra) -> dict:
    """The layout (checked by Plotly, its template filled in), with `extra` settings: axes the same for every
    frame (so a replay does not rescale), equal in scale, without ticks (the picture's directions are the
    sample's principal components, which mean nothing alone)."""
    layout = go.Layout(title=title, height=HEIGHT, legend=dict(itemclick=False, itemdoubleclick=False),
                       uirevision="frames", **_LAYOUT)
    layout.update(extra)
    axis = dict(range=[-reach, reach], showticklabels=False, showgrid=False, zeroline=False, title=None)
    layout.update(xaxis=axis, yaxis=dict(axis, scaleanchor="x"))
    return layout.to_plotly_json()


def truth_namer(dataset) -> Optional[Callable[[int], str]]:
    """How a true label of `dataset` is named in a legend, or None when it has no labels."""
    return dataset.label_name if getattr(dataset, "has_labels", False) else None
