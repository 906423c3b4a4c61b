"""A clustering run as one self-contained HTML file, for mailing to someone without the dashboard.

Everything the page needs travels inside it: plotly.js is inlined once, each chart is a Plotly div
that uses it, and the cluster galleries are PNGs embedded as ``data:`` URIs. The file opens offline
in any browser.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Optional

import numpy as np

from core.metrics import contingency_in_matched_order
from core.vocabulary import cluster_names, majority_caption, phase_label, run_settings
from core.viz.figures import cluster_sizes_bar, contingency_heatmap, loss_curve, metrics_bar, projection_scatter
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


def _report_projection(result) -> tuple[str, np.ndarray]:
    """The projection to draw: UMAP when the run already has it (never computed here: it can take
    tens of seconds), else PCA, which is instant."""
    for method in ("umap", "pca"):
        if method in result.projections:
            return method, result.projections[method]
    return "pca", result.projection("pca")


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
        caption = f"{count:,} images ({count / len(result.labels):.1%} of the data)."
        if data.has_labels:
            caption += " " + majority_caption(data.labels[members], lambda y: data.label_name(int(y)))
        grid = image_grid(data.images[shown], n_cols=GALLERY_COLUMNS, size=TILE_SIZE)
        name = result.cluster_label(cluster)
        parts.append(
            f'<div class="cluster"><h3>{_esc(name)}</h3><p class="meta">{_esc(caption)}</p>'
            f'<img src="{_png_data_uri(grid)}" alt="{_esc(f"{len(shown)} images of {name}")}"></div>'
        )
    return notice + '<div class="gallery">\n' + "\n".join(parts) + "\n</div>"


def html_report(result, *, title: Optional[str] = None, run_id: Optional[int] = None,
                name: Optional[str] = None) -> str:
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

    Returns
    -------
    str
        A complete ``<!DOCTYPE html>`` document: header, metrics, parameters and timings tables,
        Plotly charts (projection, cluster sizes, scores, training loss when the run trained,
        clusters versus true labels when the data has labels), a gallery of up to 16 images for
        each of at most 30 clusters, and library versions. plotly.js and the images are embedded,
        so the file needs no network; all text from the run or the caller is HTML-escaped.
    """
    from plotly.offline import get_plotlyjs

    title = title or name or f"{result.algorithm_title} on {result.config.dataset}"
    versions = ", ".join(f"{k} {v}" for k, v in result.versions.items())
    body = "\n".join([
        f"<header>{_header(result, title, run_id, name)}</header>",
        '<div class="tables"><div><h2>Scores</h2>', _scores(result),
        "</div><div><h2>Parameters</h2>", _table(("setting", "value"), run_settings(
            result.config, n_samples=result.dataset.n_samples, n_clusters=result.n_clusters)),
        "</div><div><h2>Timings</h2>", _timings(result), "</div></div>",
        "<h2>Charts</h2>", _charts(result),
        "<h2>Clusters</h2>", _gallery(result),
        f"<footer>Library versions: {_esc(versions or 'unknown')}</footer>",
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _header(result, title: str, run_id: Optional[int], name: Optional[str]) -> str:
    meta = []
    if run_id is not None:
        meta.append(f"Run #{run_id}")
    if name:
        meta.append(f"{result.algorithm_title} on {result.config.dataset}")
    if result.started_at:
        meta.append(f"Started {result.started_at}")
    return (f"<h1>{_esc(title)}</h1>" + "".join(f'<p class="meta">{_esc(m)}</p>' for m in meta)
            + f'<p class="summary">{_esc(result.summary())}</p>')


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
    return html + "".join(f'<p class="note">{_esc(n)}</p>' for n in notes)


def _timings(result) -> str:
    rows = [(phase_label(phase), f"{seconds:.2f}") for phase, seconds in result.timings.items() if phase != "total"]
    rows.append((phase_label("total"), f"{result.total_seconds:.2f}"))
    return _table(("phase", "seconds"), rows, numeric=(1,))


def _charts(result) -> str:
    """The charts, built by the same figure functions as the dashboard pages."""
    data = result.dataset
    method, points = _report_projection(result)
    clusters, counts = result.cluster_sizes()
    true_names = [data.label_name(int(y)) for y in data.labels] if data.has_labels else None
    charts = [
        projection_scatter(points, result.labels, group_names=cluster_names(clusters, result.cluster_names),
                           cluster_label=result.cluster_label, indices=data.indices,
                           clusters=result.labels, true_names=true_names, title=result.projection_title(method)),
        cluster_sizes_bar(clusters, counts, cluster_label=result.cluster_label),
        metrics_bar(result.metrics.as_dict()),
    ]
    if result.history:
        charts.append(loss_curve(result.history))
    if data.has_labels:
        table, rows, classes = contingency_in_matched_order(data.labels, result.labels)
        charts.append(contingency_heatmap(table, rows, [data.label_name(int(c)) for c in classes], classes=classes,
                                          cluster_label=result.cluster_label))
    html = "\n".join(_figure_div(fig) for fig in charts)
    if data.has_labels:
        html += ('<p class="meta">Rows of the last chart are ordered by the label each cluster is matched to '
                 "(Hungarian matching), so a perfect clustering is a diagonal.</p>")
    return html


__all__ = ["html_report"]
