"""A clustering run (or a comparison of runs) as one self-contained HTML file, for mailing to someone
without the dashboard; and the words of a run's story, which the presenter's page tells too.

Everything the page needs travels inside it: plotly.js is inlined once, each chart is a Plotly div
that uses it, and the cluster galleries are PNGs embedded as ``data:`` URIs. The file opens offline
in any browser.
"""
from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from typing import Optional

import numpy as np
import pandas as pd
from plotly.offline import get_plotlyjs

from core.metrics import METRICS, contingency_in_matched_order
from core.runs.compare import (default_rank_metric, group_leaderboard, hyperparameter_columns, leaderboard,
                               runs_table, seed_group_ids, silhouette_spaces)
from core.vocabulary import (cluster_names, column_label, counted, format_seconds, majority_caption, phase_label,
                             run_name, run_settings, umap_silhouette_note)
from core.viz.compare import metric_bars, parallel_coordinates
from core.viz.figures import (cluster_sizes_bar, contingency_heatmap, loss_curve, metrics_bar, projection_scatter,
                              restart_epochs, scores_with_spread)
from core.data.images import image_grid
from core.viz.tables import cluster_profiles

MAX_GALLERY_CLUSTERS = 30
IMAGES_PER_CLUSTER = 16
GALLERY_COLUMNS = 8
TILE_SIZE = 56

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;
     max-width:1100px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.25em;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:.9em;margin:2px 0}.summary{margin:10px 0 0}.note{background:#f4f7fb;
     border-left:3px solid #7aa7d9;padding:8px 12px;margin:10px 0}
table{border-collapse:collapse;margin:8px 0;font-size:.92em}
th,td{border:1px solid #e2e2e2;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f7f7f7;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.tables{display:flex;flex-wrap:wrap;gap:0 40px}.tables>div{max-width:480px}.chart{margin:12px 0}
.gallery{display:flex;flex-wrap:wrap;gap:12px 32px}.cluster{margin:10px 0}.cluster h3{font-size:1.05em;margin:0 0 4px}
.cluster img{image-rendering:pixelated;border:1px solid #eee;max-width:100%}
footer{margin-top:40px;color:#777;font-size:.85em;border-top:1px solid #ddd;padding-top:8px}
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value, digits: int = 3) -> str:
    """Scores with `digits` decimals; "n/a" for undefined ones (None)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(header: tuple, rows: list, numeric: tuple = ()) -> str:
    """An HTML table; cells are escaped here, columns whose index is in `numeric` are right-aligned."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_esc(c)}</td>' if i in numeric else f"<td>{_esc(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure_div(fig) -> str:
    # plotly.js itself is inlined once in <head>; each chart only carries its data and layout.
    return '<div class="chart">' + fig.to_html(full_html=False, include_plotlyjs=False,
                                               config={"displaylogo": False, "responsive": True}) + "</div>"


def _png_data_uri(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def story_projection(result) -> tuple[str, np.ndarray]:
    """The projection a run's story shows: UMAP when the run already has it (never computed here: it can
    take tens of seconds), else PCA, which is instant."""
    for method in ("umap", "pca"):
        if method in result.projections:
            return method, result.projections[method]
    return "pca", result.projection("pca")


def story_lines(result) -> list[tuple[str, str]]:
    """What a run did, in words: [(topic, sentence)] for "Data", "Method", "Settings" and "Time", plain text
    (escape it where it goes). The presenter's page and the HTML report both tell it."""
    data, config = result.dataset, result.config
    if data.description:
        about = f"{config.dataset}: {data.description.rstrip('.')}."
        if config.n_samples:
            about += f" This run took a sample of {counted(data.n_samples, 'image' if not data.is_table else 'row')}."
    elif data.is_table:
        about = f"{config.dataset}: {counted(data.n_samples, 'row')} of {counted(data.features.shape[1], 'feature')}."
    else:
        h, w, c = data.image_shape
        about = f"{config.dataset}: {counted(data.n_samples, 'image')}, {h}x{w} {'colour' if c == 3 else 'grayscale'}."
    if not data.description:
        about += (f" {counted(data.n_classes, 'true class', 'true classes')}, used only to score." if data.has_labels
                  else " No labels: the scores that need them are left out.")
    method = f"{result.algorithm_title}, {counted(result.n_clusters, 'cluster')}."
    settings = [f"{label} {value}" for label, value in run_settings(config, n_samples=data.n_samples,
                                                                    n_clusters=result.n_clusters)
                if label not in ("Dataset", "Images", "Algorithm", "Number of clusters")]  # said above
    when = f", started {result.started_at.replace('T', ' ')[:16]} UTC" if result.started_at else ""
    return [("Data", about), ("Method", method), ("Settings", " · ".join(settings) + "."),
            ("Time", f"{format_seconds(result.total_seconds)}{when}.")]


def loss_note(result) -> str:
    """Why the loss curve jumps, when it does because the optimiser restarted ("" when it never did)."""
    restart_every = result.estimator_params.get("restart_every")
    epochs = restart_epochs(result.history, restart_every)
    if not epochs:
        return ""
    at = ", ".join(str(e) for e in epochs[:-1]) + (" and " if len(epochs) > 1 else "") + str(epochs[-1])
    return (f"The loss jumps at epoch{'s' if len(epochs) > 1 else ''} {at} because the autoencoder's optimiser "
            f"(Adam) restarts every {'epoch' if restart_every == 1 else f'{restart_every} epochs'} (dotted lines): "
            "a warm restart, after which the loss falls lower than before.")


def story_loss_curve(result, height: int = 320):
    """The run's loss curve with its optimiser restarts marked; None for a run that trained no network."""
    if not result.history:
        return None
    return loss_curve(result.history, restart_every=result.estimator_params.get("restart_every"), height=height)


def story_scatter(result, height: int = 560):
    """The run's projection coloured by cluster, clusters named as a person named them."""
    data = result.dataset
    method, points = story_projection(result)
    clusters = np.unique(result.labels)
    true_names = [data.label_name(int(y)) for y in data.labels] if data.has_labels else None
    return projection_scatter(points, result.labels, group_names=cluster_names(clusters, result.cluster_names),
                              cluster_label=result.cluster_label, indices=data.indices, clusters=result.labels,
                              true_names=true_names, title=result.projection_title(method), height=height)


def story_scores(result, spread: Optional[pd.DataFrame] = None, height: int = 360):
    """The scores chart: with `spread` (:func:`core.runs.compare.seed_summary`), the run's scores beside
    their spread over its seeds; else its scores alone."""
    return scores_with_spread(spread, height=height) if spread is not None else metrics_bar(result.metrics.as_dict())


def story_clusters(result, count: int = 6) -> list[int]:
    """The clusters a story shows a gallery of: the `count` largest (noise last), largest first."""
    clusters, counts = result.cluster_sizes()
    order = sorted(zip(clusters.tolist(), counts.tolist()), key=lambda item: (item[0] < 0, -item[1], item[0]))
    return [cluster for cluster, _ in order[:count]]


def cluster_caption(result, cluster: int) -> str:
    """"175 images (9.7%). Most common true label: 8 (82% of the cluster).": a gallery's caption."""
    members = result.members(cluster)
    caption = f"{counted(len(members), 'image')} ({len(members) / len(result.labels):.1%})."
    if result.dataset.has_labels:
        caption += " " + majority_caption(result.dataset.labels[members], lambda y: result.dataset.label_name(int(y)))
    return caption


def spread_rows(spread: pd.DataFrame) -> list[tuple]:
    """:func:`core.runs.compare.seed_summary`'s table as text rows: scores with 3 decimals, seconds with 1."""
    rows = []
    for _, row in spread.iterrows():
        digits = 1 if row["Metric"] == "Time (s)" else 3
        rows.append((row["Metric"], *(f"{row[c]:.{digits}f}" for c in ("This run", "Mean", "SD", "Min", "Max")),
                     str(int(row["Seeds"]))))
    return rows


SPREAD_HEADER = ("Metric", "This run", "Mean", "SD", "Min", "Max", "Seeds")


def _gallery(result) -> str:
    data = result.dataset
    if data.is_table:  # a table has no images: each cluster's mean feature profile instead

        profiles = cluster_profiles(data, result.labels)
        rows = [[result.cluster_label(c), *(f"{v:.2f}" for v in profiles.loc[c])] for c in profiles.index]
        return ('<p class="meta">Mean of each feature per cluster, as a share of the feature\'s range (0-1).</p>'
                + _table(["cluster", *profiles.columns], rows, numeric=set(range(1, len(profiles.columns) + 1))))
    clusters, counts = result.cluster_sizes()
    parts, notice = [], ""
    if len(clusters) > MAX_GALLERY_CLUSTERS:
        notice = (f'<p class="note">Showing the first {MAX_GALLERY_CLUSTERS} of {len(clusters)} clusters '
                  f"(by cluster number); the others are left out to keep the file small.</p>\n")
    rng = np.random.default_rng(0)  # same pick every time the report is made
    for cluster, count in zip(clusters[:MAX_GALLERY_CLUSTERS].tolist(), counts[:MAX_GALLERY_CLUSTERS].tolist()):
        members = result.members(cluster)
        shown = np.sort(rng.choice(members, size=min(IMAGES_PER_CLUSTER, len(members)), replace=False))
        caption = cluster_caption(result, cluster)
        grid = image_grid(data.images[shown], n_cols=GALLERY_COLUMNS, size=TILE_SIZE)
        name = result.cluster_label(cluster)
        parts.append(
            f'<div class="cluster"><h3>{_esc(name)}</h3><p class="meta">{_esc(caption)}</p>'
            f'<img src="{_png_data_uri(grid)}" alt="{_esc(f"{len(shown)} images of {name}")}"></div>'
        )
    return notice + '<div class="gallery">\n' + "\n".join(parts) + "\n</div>"


def html_report(result, *, title: Optional[str] = None, run_id: Optional[int] = None,
                name: Optional[str] = None, spread: Optional[pd.DataFrame] = None) -> str:
    """A self-contained HTML document describing one clustering run.

    Parameters
    ----------
    result : core.experiment.ClusteringResult
        The finished run. Its 2-D projection is taken from ``result.projections`` (UMAP, else PCA);
        when it has neither, PCA is computed (and kept on `result`).
    title : str, optional
        Heading and document title; defaults to the run's `name`, else "<algorithm> on <dataset>".
    run_id : int, optional
        Shown in the header when given (e.g. the id in a run store).
    name : str, optional
        A user-chosen name of the run, shown in the header when given.
    spread : pandas.DataFrame, optional
        The run's scores beside its seed group's (:func:`core.runs.compare.seed_summary`): shown as a
        table and drawn as the spread over seeds.

    Returns
    -------
    str
        A complete ``<!DOCTYPE html>`` document telling the run's story as the presenter's page does: what
        was trained on what, the scores (with their spread over seeds when given), how the loss went (the
        optimiser's restarts marked), what came out (projection, cluster sizes, clusters versus true labels
        when the data has labels), a gallery of up to 16 images for each of at most 30 clusters; then the
        parameters and timings tables and library versions. The charts are interactive Plotly charts;
        plotly.js (once) and the images are embedded, so the file needs no network; all text from the run
        or the caller is HTML-escaped.
    """
    title = title or (run_name(name, run_id) if name else f"{result.algorithm_title} on {result.config.dataset}")
    versions = ", ".join(f"{k} {v}" for k, v in result.versions.items())
    story = "".join(f"<p><b>{_esc(topic)}:</b> {_esc(text)}</p>" for topic, text in story_lines(result))
    body = "\n".join([
        f"<header>{_header(result, title, run_id, name)}</header>",
        "<h2>What was trained on what</h2>", story,
        '<div class="tables"><div><h2>Scores</h2>', _scores(result), _spread(spread),
        "</div></div>",
        _charts(result, spread),
        "<h2>Clusters</h2>", _gallery(result),
        '<div class="tables"><div><h2>Parameters</h2>', _table(("setting", "value"), run_settings(
            result.config, n_samples=result.dataset.n_samples, n_clusters=result.n_clusters)),
        "</div><div><h2>Timings</h2>", _timings(result), "</div></div>",
        f"<footer>Library versions: {_esc(versions or 'unknown')}</footer>",
    ])
    return _document(title, body)


def _document(title: str, body: str) -> str:
    """The page around `body`: its title, the style, and plotly.js inlined once for every chart in it."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _spread(spread: Optional[pd.DataFrame]) -> str:
    if spread is None or spread.empty:
        return ""
    seeds = int(spread["Seeds"].max())
    return (f"<h2>Over {seeds} seeds</h2><p class=\"meta\">This run beside the {seeds} runs of the same setting "
            "that differ only in seed: their mean, standard deviation and range.</p>"
            + _table(SPREAD_HEADER, spread_rows(spread), numeric=(1, 2, 3, 4, 5, 6)))


def _header(result, title: str, run_id: Optional[int], name: Optional[str]) -> str:
    """The title, then the run's number and start, and what ran on what when the title does not say it."""
    setting = f"{result.algorithm_title} on {result.config.dataset}"
    first = " · ".join(([f"Run #{run_id}"] if run_id is not None else [])
                       + ([f"started {result.started_at}"] if result.started_at else []))
    meta = [first] if first else []
    if title != setting:
        meta.append(setting)
    return f"<h1>{_esc(title)}</h1>" + "".join(f'<p class="meta">{_esc(m)}</p>' for m in meta)


def _scores(result) -> str:
    """The scores table, with what the silhouette was computed on and why a score is missing."""
    report = result.metrics
    html = _table(("metric", "value"), [(k, _fmt(v)) for k, v in report.as_dict().items()], numeric=(1,))
    notes = []
    if not result.dataset.has_labels and report.note:
        notes.append(report.note)
    sil = report.silhouette
    if sil.score is None and sil.reason:
        notes.append(f"Silhouette not computed: {sil.reason}")
    elif sil.score is not None:
        sample = (f"a random sample of {sil.n_samples:,} of {sil.n_total:,} images" if sil.sampled
                  else f"all {sil.n_total:,} images")
        notes.append(f"Silhouette computed in the space the clusters were made in: {result.silhouette_space}, "
                     f"on {sample}. It compares only with runs clustered in the same space.")
    if umap_silhouette_note(report):
        notes.append(umap_silhouette_note(report))
    return html + "".join(f'<p class="note">{_esc(n)}</p>' for n in notes)


def _timings(result) -> str:
    rows = [(phase_label(phase), f"{seconds:.2f}") for phase, seconds in result.timings.items() if phase != "total"]
    rows.append((phase_label("total"), f"{result.total_seconds:.2f}"))
    return _table(("phase", "seconds"), rows, numeric=(1,))


def _charts(result, spread: Optional[pd.DataFrame] = None) -> str:
    """The story's charts, built by the same functions as the presenter's page: the scores, how the loss went,
    what came out."""
    data = result.dataset
    parts = [_figure_div(story_scores(result, spread))]
    curve = story_loss_curve(result)
    if curve is not None:
        parts += ["<h2>How the loss went</h2>", _figure_div(curve)]
        if loss_note(result):
            parts.append(f'<p class="meta">{_esc(loss_note(result))}</p>')
    clusters, counts = result.cluster_sizes()
    parts += ["<h2>What came out</h2>", _figure_div(story_scatter(result)),
              _figure_div(cluster_sizes_bar(clusters, counts, cluster_label=result.cluster_label))]
    if data.has_labels:
        table, rows, classes = contingency_in_matched_order(data.labels, result.labels)
        parts.append(_figure_div(contingency_heatmap(table, rows, [data.label_name(int(c)) for c in classes],
                                                     classes=classes, cluster_label=result.cluster_label)))
        parts.append('<p class="meta">Rows of the last chart are ordered by the label each cluster is matched to '
                     "(Hungarian matching), so a perfect clustering is a diagonal.</p>")
    return "\n".join(parts)


def comparison_report(runs, *, title: Optional[str] = None, rank_by: Optional[str] = None) -> str:
    """A self-contained HTML document comparing finished runs, for mailing as :func:`html_report` does a run.

    Parameters
    ----------
    runs : sequence of core.runs.RunRecord, or pandas.DataFrame
        The runs (``store.get(i)`` for each id chosen, or ``store.list_runs(status=FINISHED)``), or their
        :func:`core.runs.compare.runs_table` as a page already holds it.
    title : str, optional
        Heading and document title; defaults to "<n> runs compared on <dataset>".
    rank_by : str, optional
        The metric the runs are ranked by (one of :data:`core.metrics.METRICS` they have); by default NMI where
        there are labels, else the label-free score (:func:`core.runs.compare.default_rank_metric`).

    Returns
    -------
    str
        A complete ``<!DOCTYPE html>`` document: which settings differ, the runs ranked by `rank_by` with every
        score and setting that differs, each setting repeated over seeds as one row (mean, SD and range) when
        there are such, and interactive Plotly charts: every metric of every run as bars, and settings against
        metrics as parallel coordinates when a setting differs. plotly.js is inlined once; nothing is fetched.

    Raises
    ------
    ValueError
        When `runs` is empty.
    """
    table = runs.copy() if isinstance(runs, pd.DataFrame) else runs_table(list(runs))
    if table.empty:
        raise ValueError("a comparison needs at least one run.")
    table = table.sort_values("id").reset_index(drop=True)
    metrics = [m for m in METRICS if m in table and table[m].notna().any()]
    rank_by = rank_by if rank_by in metrics else default_rank_metric(table)
    hyper = hyperparameter_columns(table)
    datasets = ", ".join(sorted(str(d) for d in table["dataset"].unique()))
    title = title or f"{counted(len(table), 'run')} compared on {datasets}"
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    differ = ", ".join(column_label(c, table) for c in hyper) or "none (the runs share every setting)"
    parts = [f"<header><h1>{_esc(title)}</h1><p class=\"meta\">Made {made} · runs "
             + _esc(", ".join(f"#{i}" for i in table["id"])) + "</p></header>",
             f"<p><b>Settings that differ:</b> {_esc(differ)}.</p>"]
    spaces = silhouette_spaces(table)
    if len(spaces) > 1 and "Silhouette" in metrics:
        parts.append(f'<p class="note">The silhouettes were computed in different spaces ({_esc("; ".join(spaces))}), '
                     "so they do not compare across those runs.</p>")
    board = leaderboard(table, rank_by, [c for c in hyper if c != "algorithm"])
    board.insert(0, "Best", ["★" if best else "" for best in board.pop("Best")])
    board["Run"] = [_said_once(text) for text in board["Run"]]
    parts += [f"<h2>Ranked by {_esc(rank_by)}</h2>", _frame_table(board)]
    if seed_group_ids(table).notna().any():
        groups = group_leaderboard(table, rank_by, metrics)
        groups.insert(0, "Best", ["★" if best else "" for best in groups.pop("Best")])
        groups["Setting"] = [_said_once(text) for text in groups["Setting"]]
        parts += ["<h2>Settings repeated over seeds</h2>",
                  f'<p class="meta">Runs that differ only in seed as one row: the mean of each score, and the '
                  f"spread of {_esc(rank_by)} over the seeds, so that a lucky seed does not win.</p>",
                  _frame_table(groups)]
    parts += ["<h2>Charts</h2>", _figure_div(metric_bars(table, metrics))]
    if hyper and len(table) > 1:
        parts.append(_figure_div(parallel_coordinates(table, hyper, metrics, rank_by)))
    return _document(title, "\n".join(parts))


def _said_once(text: str) -> str:
    """"#4 k-means on digits #4" (a run's number before its default name) as "#4 k-means on digits"."""
    number, _, name = str(text).partition(" ")
    return f"{number} {run_name(name, int(number[1:]))}" if number[1:].isdigit() else str(text)


def _frame_table(frame: pd.DataFrame) -> str:
    """A table of a leaderboard: scores with 3 decimals, durations with 1, empty cells as "-"."""
    def text(column, value):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return "-"
        if isinstance(value, (float, np.floating)):
            return f"{value:.1f}" if "Duration" in str(column) else f"{value:.3f}"
        return str(value)

    numeric = tuple(i for i, column in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[column])
                    and frame[column].dtype != bool)
    rows = [[text(column, value) for column, value in zip(frame.columns, row)] for row in frame.itertuples(index=False)]
    return _table(tuple(frame.columns), rows, numeric=numeric)


__all__ = ["html_report", "comparison_report", "story_lines", "story_projection", "story_scatter", "story_scores",
           "story_loss_curve", "story_clusters", "cluster_caption", "loss_note"]
