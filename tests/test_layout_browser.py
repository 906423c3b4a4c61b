"""Layout in a real browser (Chromium at 1280x720): chart titles, subplot titles and legends clear of Plotly's
toolbar, the dendrogram's last leaf label inside its chart, and gallery captions on one line inside their
tile. Runs are recorded in a fresh store before one server starts, and opened by URL (``?run=<id>``)."""
import os
import re
import shutil

import pytest

from tests.browser import CHROMIUM, browser_page, serve_app

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

RUNS = {  # name: (algorithm, options): quick classical runs on digits
    "agglomerative": ("agglomerative", {}),
    "certain": ("gmm", {"n_samples": 600}),   # every confidence is 1.0
    "kmeans": ("kmeans", {"projection": "umap"}),
    "doubtful": ("gmm", {}),                  # a few members between clusters
}

# Bounding boxes of everything that must stay clear of each chart's toolbar.
BOXES_JS = """plot => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, text: e.textContent}; };
  const svg = plot.querySelector('svg.main-svg');
  return {
    modebar: plot.querySelector('.modebar') ? box(plot.querySelector('.modebar')) : null,
    svg: box(svg),
    titles: [...plot.querySelectorAll('.gtitle')].map(box),
    annotations: [...plot.querySelectorAll('.annotation')].map(box),
    legends: [...plot.querySelectorAll('.legend')].map(box),
    xticks: [...plot.querySelectorAll('.xtick text')].map(box),
  };
}"""

GALLERY_JS = """gallery => [...gallery.querySelectorAll('figure')].map(figure => {
  const r = e => { const b = e.getBoundingClientRect();
                   return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; };
  const caption = figure.querySelector('figcaption');
  return {figure: r(figure), image: r(figure.querySelector('img')), caption: r(caption),
          lineHeight: parseFloat(getComputedStyle(caption).lineHeight), title: caption.title};
})"""


def intersects(a, b) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.fixture(scope="module")
def run_ids(tmp_path_factory):
    from core.experiment import RunConfig
    from core.runs.runner import record_run
    from core.runs.store import RunStore

    store_dir = tmp_path_factory.mktemp("layout-store")
    store = RunStore(store_dir)
    ids = {}
    for name, (algorithm, options) in RUNS.items():
        config = RunConfig(dataset="digits", algorithm=algorithm, **{"projection": "pca", **options})
        ids[name] = record_run(config, store).run_id
    return store_dir, ids


@pytest.fixture(scope="module")
def server(run_ids, tmp_path_factory):
    store_dir, _ = run_ids
    with serve_app(tmp_path_factory.mktemp("layout-server") / "streamlit.log",
                   env={"DEEP_CLUSTERING_HOME": str(store_dir)}) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with browser_page(width=1280, height=720) as page:
        yield page


def open_page(page, server, path: str, heading: str):
    page.goto(f"{server}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Run #").first).to_be_visible(timeout=60_000)


def check_charts(page, expected: int):
    """Every chart on the page: hovered (so its toolbar shows), then its titles and legends checked."""
    plots = page.locator(".js-plotly-plot")
    expect(plots).to_have_count(expected, timeout=60_000)
    page.wait_for_timeout(500)  # let Plotly finish laying out
    found = []
    for i in range(expected):
        plot = plots.nth(i)
        plot.scroll_into_view_if_needed()
        plot.hover(position={"x": 40, "y": 120})
        expect(plot.locator(".modebar")).to_be_attached()
        boxes = plot.evaluate(BOXES_JS)
        toolbar = boxes["modebar"]
        for kind in ("titles", "annotations", "legends"):
            for box in boxes[kind]:
                assert not intersects(box, toolbar), f"the toolbar covers {kind[:-1]} {box['text']!r}"
        found.append(boxes)
    return found


def check_gallery(page, min_tiles: int):
    gallery = page.locator(".dc-gallery").first
    expect(gallery).to_be_visible(timeout=30_000)
    tiles = gallery.evaluate(GALLERY_JS)
    assert len(tiles) >= min_tiles
    sizes = {(round(t["image"]["right"] - t["image"]["left"]), round(t["image"]["bottom"] - t["image"]["top"]))
             for t in tiles}
    assert len(sizes) == 1, f"tiles of different sizes: {sizes}"
    for tile, following in zip(tiles, tiles[1:]):
        caption = tile["caption"]
        assert caption["bottom"] - caption["top"] <= 1.5 * tile["lineHeight"], f"caption {tile['title']!r} wraps"
        assert caption["right"] <= tile["figure"]["right"] + 0.5
        if abs(following["figure"]["top"] - tile["figure"]["top"]) < 1:  # same row
            assert caption["right"] <= following["figure"]["left"], \
                f"caption {tile['title']!r} runs into the next tile"
        else:  # the next row starts below this caption
            assert following["figure"]["top"] >= caption["bottom"]
    return tiles


def test_model_pages_keep_titles_clear_and_the_last_leaf_inside(page, server, run_ids):
    _, ids = run_ids
    open_page(page, server, f"model?run={ids['agglomerative']}", "Model")
    (dendrogram,) = check_charts(page, 1)
    last = dendrogram["xticks"][-1]
    svg = dendrogram["svg"]
    assert svg["left"] <= last["left"] and last["right"] <= svg["right"] and last["bottom"] <= svg["bottom"], \
        f"the last leaf label {last['text']!r} is cut off"

    open_page(page, server, f"model?run={ids['certain']}", "Model")
    expect(page.get_by_text("The model is certain about every image")).to_be_visible(timeout=30_000)
    assert not page.locator(".dc-gallery").count() and not page.locator(".js-plotly-plot").count()

    open_page(page, server, f"model?run={ids['doubtful']}", "Model")
    check_charts(page, 1)
    expect(page.get_by_text("Least confident members of")).to_be_visible(timeout=30_000)
    check_gallery(page, 1)

    open_page(page, server, f"model?run={ids['kmeans']}", "Model")
    tiles = check_gallery(page, 10)
    assert [t["title"] for t in tiles[:2]] == ["cluster 0", "cluster 1"]
    assert not page.locator("[data-testid='stException']").count()


def test_explore_in_both_colourings(page, server, run_ids):
    _, ids = run_ids
    open_page(page, server, f"explore?run={ids['kmeans']}", "Explore")
    check_charts(page, 2)
    check_gallery(page, 40)
    page.get_by_text("True label", exact=True).click()
    expect(page.locator(".legend").first).to_contain_text("True label", timeout=30_000)
    check_charts(page, 2)
    assert not page.locator("[data-testid='stException']").count()


def test_how_many_clusters_subplot_titles_and_legend(page, server, run_ids):
    _, ids = run_ids
    open_page(page, server, f"clusters?run={ids['kmeans']}", "How many clusters?")
    end = page.get_by_role("slider").nth(1)  # counts 2 to 6: seconds (the mixtures are the slow part)
    end.focus()
    for _ in range(9):
        end.press("ArrowLeft")
    expect(end).to_have_attribute("aria-valuetext", "6")
    page.get_by_role("button", name="Run the sweep").click()
    expect(page.get_by_text(re.compile(r"^Suggested: \d+ clusters \(highest UMAP silhouette\)\."))).to_be_visible(
        timeout=90_000)
    (sweep,) = check_charts(page, 1)
    titles = [a["text"] for a in sweep["annotations"]]
    assert "k-means inertia (look for the elbow)" in titles
    legend = " ".join(box["text"] for box in sweep["legends"])
    # the current run's 10 lies outside 2-6: a legend entry only
    for mark in ("Highest UMAP silhouette", "Highest silhouette", "Lowest GMM BIC", "Elbow of the inertia",
                 "Current run: 10"):
        assert mark in legend
    assert not page.locator("[data-testid='stException']").count()
