"""Present: one run's story on one page, for a meeting or a projector (1280x720 to 1920x1080), at its own
address (``/present?run=7``): what was trained on what, what came out (the projection, the largest clusters'
galleries under the names a person gave them), how the loss went, and the scores with their spread over
seeds. Full width, with the sidebar, the navigation, Streamlit's toolbar and every control hidden; a viewer
may present too. The HTML report (core.runs.report) tells the same story, with the same words and charts."""
import html

import numpy as np
import streamlit as st

from core.runs import FINISHED, StoreError
from core.runs.compare import seed_summary
from core.runs.report import (SPREAD_HEADER, cluster_caption, loss_note, spread_rows, story_clusters, story_lines,
                              story_loss_curve, story_scatter, story_scores)
from core.viz.images import gallery_html
from core.vocabulary import METRIC_HELP, counted, run_name
from ui.cache import run_store
from ui.state import result_name, sync_result_with_url
from ui.text import plain

GALLERIES = 6            # the largest clusters, three to a row
IMAGES_PER_GALLERY = 14  # two rows of seven tiles
CHART = {"displayModeBar": False, "displaylogo": False, "scrollZoom": False}  # a chart to look at, no toolbar

# Only on this page: no sidebar, no navigation, no header with Streamlit's toolbar and menu, no chart toolbars;
# the page uses the whole width, and its text grows with the screen (16 px at 1280 wide, 20 px at 1920).
STYLE = """<style>
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapseButton"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stElementToolbar"] {display: none !important}
html {font-size: clamp(16px, 1.05vw, 22px)}
[data-testid="stMainBlockContainer"] {max-width: 100%; padding: 1.2rem 2.5rem 2rem 2.5rem !important}
.st-key-present_title h1 {font-size: 2.1rem; line-height: 1.2; padding: 0; overflow-wrap: anywhere}
.st-key-present_projection {height: calc(100vh - 9.5rem); min-height: 380px}
.dc-story p {margin: 0 0 .55rem 0; line-height: 1.45}
.dc-scores {display: flex; flex-wrap: wrap; gap: .6rem; margin-top: .4rem}
.dc-score {border: 1px solid #e3e3e3; border-radius: .5rem; padding: .35rem .7rem; min-width: 6.2rem}
.dc-score .name {font-size: .8rem; color: #666} .dc-score .value {font-size: 1.5rem; font-weight: 600}
.dc-score .spread {font-size: .72rem; color: #666}
.dc-spread {border-collapse: collapse; font-size: .85rem}
.dc-spread td, .dc-spread th {padding: .2rem .6rem; border-bottom: 1px solid #eee; text-align: right}
.dc-spread td:first-child, .dc-spread th:first-child {text-align: left}
.dc-cluster h4 {margin: 0; padding: 0; font-size: 1.05rem}
.dc-cluster p {margin: 0 0 .3rem 0; font-size: .8rem; color: #666}
.dc-cluster {--tile: clamp(52px, 3.4vw, 76px)}
.dc-cluster .dc-gallery {grid-template-columns: repeat(auto-fill, var(--tile)); gap: 6px}
.dc-cluster .dc-gallery figure {width: var(--tile)}
.dc-cluster .dc-gallery img {width: var(--tile); height: var(--tile)}
.dc-cluster .dc-gallery figcaption {display: none}
</style>"""


def spread_of(run_id):
    """The run's scores beside its seed group's (None when no run differs from it only in seed)."""
    if run_id is None:
        return None
    try:
        return seed_summary(run_store().list_runs(status=FINISHED), run_id)
    except StoreError:
        return None


def title(result) -> None:
    """The run's name as the title; under it its number and what ran on what, each said once."""
    name = run_name(result_name(result), result.run_id)
    setting = f"{result.algorithm_title} on {result.config.dataset}"
    with st.container(key="present_title"):
        st.title(plain(name), anchor=False)
    facts = ([f"Run #{result.run_id}"] if result.run_id is not None else []) + ([setting] if name != setting else [])
    facts += [counted(result.dataset.n_samples, "row" if result.dataset.is_table else "image"),
              counted(result.n_clusters, "cluster")]
    st.caption(" · ".join(plain(fact) for fact in facts))


def score_tiles(result, spread) -> str:
    """Each defined score as a tile; with a seed group, its mean and spread under it."""
    means = {} if spread is None else {row["Metric"]: row for _, row in spread.iterrows()}
    tiles = []
    for metric, value in result.metrics.as_dict().items():
        if value is None:
            continue
        row = means.get(metric)
        below = (f'<div class="spread">mean {row["Mean"]:.3f} ± {row["SD"]:.3f}, {int(row["Seeds"])} seeds</div>'
                 if row is not None else "")
        tiles.append(f'<div class="dc-score" title="{html.escape(METRIC_HELP.get(metric, ""))}">'
                     f'<div class="name">{html.escape(metric)}</div><div class="value">{value:.3f}</div>{below}</div>')
    return '<div class="dc-scores">' + "".join(tiles) + "</div>"


def story(result, spread) -> None:
    """What was trained on what, and the scores."""
    lines = "".join(f"<p><b>{html.escape(topic)}:</b> {html.escape(text)}</p>" for topic, text in story_lines(result))
    st.html(f'<div class="dc-story">{lines}</div>' + score_tiles(result, spread))
    if result.degenerate_note():
        st.warning(result.degenerate_note(), icon=":material/warning:")


def training_and_scores(result, spread) -> None:
    """How the loss went (its restarts explained) beside the scores and their spread over seeds."""
    curve = story_loss_curve(result, height=380)
    if curve is not None:
        loss_col, scores_col = st.columns(2, gap="large")
        with loss_col:
            st.plotly_chart(curve, config=CHART, key="present_loss")
            if loss_note(result):
                st.caption(loss_note(result))
        chart_col = table_col = scores_col
    else:  # no network trained: the scores chart beside its table
        chart_col, table_col = st.columns([3, 2], gap="large", vertical_alignment="center")
    with chart_col:
        st.plotly_chart(story_scores(result, spread, height=380), config=CHART, key="present_scores")
    with table_col:
        if spread is not None:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in SPREAD_HEADER)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                           for row in spread_rows(spread))
            st.html(f'<table class="dc-spread"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def galleries(result) -> None:
    """A gallery of each of the largest clusters, under its name (a person's, else "cluster 3")."""
    data = result.dataset
    if data.is_table:
        return
    shown = story_clusters(result, GALLERIES)
    more = len(np.unique(result.labels)) - len(shown)
    st.subheader("The largest clusters" if more > 0 else "The clusters", anchor=False)
    if more > 0:
        st.caption(f"The {len(shown)} largest of {counted(len(shown) + more, 'cluster')}; each shows a random "
                   f"sample of its images.")
    rng = np.random.default_rng(0)  # the same images every time the page is drawn
    for start in range(0, len(shown), 3):
        for column, cluster in zip(st.columns(3, gap="large"), shown[start:start + 3]):
            members = result.members(cluster)
            picked = np.sort(rng.choice(members, size=min(IMAGES_PER_GALLERY, len(members)), replace=False))
            tooltips = [f"{result.cluster_label(cluster)} · image {int(data.indices[i])}"
                        + (f" · label {data.label_name(int(data.labels[i]))}" if data.has_labels else "")
                        for i in picked]
            column.html(f'<div class="dc-cluster"><h4>{html.escape(result.cluster_label(cluster))}</h4>'
                        f"<p>{html.escape(cluster_caption(result, cluster))}</p>"
                        + gallery_html(data.images[picked], [""] * len(picked), tile=52, tooltips=tooltips) + "</div>")


st.html(STYLE)
result = sync_result_with_url()
if result is None:
    st.title("Present", anchor=False)
    st.info("No run to present: open one on the Runs page, then follow its link Present this run "
            "(or add ?run=<its number> to this address).")
    st.page_link("pages/runs.py", label="Go to Runs", icon=":material/history:")
    st.stop()
spread = spread_of(result.run_id)
title(result)
about, picture = st.columns([2, 3], gap="large")
with about:
    story(result, spread)
with picture, st.container(key="present_projection"):
    st.plotly_chart(story_scatter(result), height="stretch", config=CHART, key="present_projection_chart")
galleries(result)
training_and_scores(result, spread)
