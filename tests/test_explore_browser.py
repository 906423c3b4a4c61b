"""Touching the projection in real Chromium: a lasso dragged over Explore's scatter shows the images inside it,
the address carries it, and the same address opened in a fresh browser shows the same images.
Screenshots go to tests/artifacts/screenshots/."""
import os
import re
import shutil
from urllib.parse import unquote

import numpy as np
import pytest

from tests.browser import CHROMIUM, browser_page, no_exception, serve_app, settle, shoot

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    """k-means on the real digits with its PCA projection, recorded before the server starts."""
    from core.experiment import RunConfig
    from core.runs import RunStore
    from core.runs.runner import record_run

    directory = tmp_path_factory.mktemp("explore-store")
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, projection="pca"),
                        RunStore(directory), name="lasso walk")
    return directory, result


def _drag_lasso(page, plot, corners):
    """Press, move through `corners` (fractions of the chart's box) and release, as a hand does."""
    box = plot.bounding_box()
    x, y = (box["x"] + box["width"] * corners[0][0], box["y"] + box["height"] * corners[0][1])
    page.mouse.move(x, y)
    page.mouse.down()
    for fx, fy in corners[1:] + corners[:1]:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=6)
    page.mouse.up()


@pytest.fixture(scope="module")
def server(stored_run, tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("explore") / "streamlit.log",
                   env={"DEEP_CLUSTERING_HOME": str(stored_run[0])}) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with browser_page(1280, 720) as page:
        yield page


def _open_explore(page, server, run_id):
    page.goto(f"{server}/explore?run={run_id}")
    plot = page.locator(".stPlotlyChart").first
    expect(plot.locator(".scatterlayer .point").first).to_be_attached(timeout=60_000)
    settle(page)
    return plot


def test_hover_shows_the_image_and_a_click_opens_the_point_and_its_neighbours(page, server, stored_run,
                                                                              artifacts_dir):
    from core.selection import nearest_rows

    result = stored_run[1]
    plot = _open_explore(page, server, result.run_id)
    point = plot.locator(".scatterlayer .point").nth(300)
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.locator("[data-testid=dc-hover-image][data-state=image]")  # its text at once, the image when here
    expect(tip).to_be_visible(timeout=10_000)
    row = int(tip.get_attribute("data-row"))
    assert tip.locator("canvas").evaluate("c => c.width") > 0
    shoot(page, artifacts_dir / "screenshots", "explore-hover")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    index = int(result.dataset.indices[row])
    expect(page.get_by_role("heading", name=f"Image #{index}")).to_be_visible(timeout=30_000)
    assert f"point={row}" in page.url
    neighbours, _ = nearest_rows(result.embedding, row)
    first = page.get_by_role("button", name=re.compile(rf"^#{int(result.dataset.indices[neighbours[0]])} · "))
    first.scroll_into_view_if_needed()
    shoot(page, artifacts_dir / "screenshots", "explore-point")
    first.click()
    expect(page.get_by_role("heading", name=f"Image #{int(result.dataset.indices[neighbours[0]])}")).to_be_visible(
        timeout=30_000)
    no_exception(page)
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("heading", name=re.compile("^Image #"))).to_have_count(0, timeout=30_000)

    # the image map: a spread-out sample of the images drawn at their places
    page.get_by_text("Image map").click()
    expect(plot.locator("g.layer-above image").first).to_be_attached(timeout=30_000)
    assert 20 < plot.locator("g.layer-above image").count() <= 18 * 18
    plot.scroll_into_view_if_needed()
    shoot(page, artifacts_dir / "screenshots", "explore-image-map")


def test_a_lasso_shows_its_images_and_its_link_opens_them_in_a_fresh_browser(page, server, stored_run, artifacts_dir):
    from core.selection import Selection

    result = stored_run[1]
    screenshots = artifacts_dir / "screenshots"
    plot = _open_explore(page, server, result.run_id)
    _drag_lasso(page, plot, [(0.35, 0.35), (0.6, 0.35), (0.6, 0.75), (0.4, 0.8)])
    heading = page.get_by_role("heading", name=re.compile(r"^Lasso: \d+ images?$"))
    expect(heading).to_be_visible(timeout=30_000)
    settle(page)
    no_exception(page)
    shown = int(re.search(r"(\d+) image", heading.inner_text()).group(1))
    link = page.url
    text = re.search(r"[?&]sel=([^&]+)", link)
    assert text, link
    selection = Selection.from_text(unquote(text.group(1)))
    assert shown == len(selection.rows_in(result.projections["pca"])) > 0
    heading.scroll_into_view_if_needed()
    shoot(page, screenshots, "explore-lasso")
    # the gallery holds the selected images: as many tiles as images (up to the 120 drawn at once)
    expect(page.locator(".dc-gallery figure")).to_have_count(min(shown, 120))

    fresh = page.context.browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    fresh.goto(link)
    expect(fresh.get_by_role("heading", name=f"Lasso: {shown} images")).to_be_visible(timeout=60_000)
    expect(fresh.locator(".dc-gallery figure")).to_have_count(min(shown, 120))
    # the same images, in the same order: their captions match
    first = page.locator(".dc-gallery figcaption").all_inner_texts()
    assert fresh.locator(".dc-gallery figcaption").all_inner_texts() == first
    assert np.all([c for c in first])

    page.get_by_role("button", name="Clear selection").click()
    expect(page.get_by_role("heading", name="Gallery")).to_be_visible(timeout=30_000)
    assert "sel=" not in page.url

    # a box: the toolbar's box tool, then a drag from corner to corner
    plot.scroll_into_view_if_needed()
    plot.hover()
    plot.locator(".modebar-btn[data-title='Box Select']").click()
    area = plot.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.65, area["y"] + area["height"] * 0.7, steps=8)
    page.mouse.up()
    heading = page.get_by_role("heading", name=re.compile(r"^Box: [\d,]+ images?$"))  # "Box: 1,222 images"
    expect(heading).to_be_visible(timeout=30_000)
    text = re.search(r"[?&]sel=([^&]+)", page.url)
    box = Selection.from_text(unquote(text.group(1)))
    boxed = int(re.search(r"([\d,]+) image", heading.inner_text()).group(1).replace(",", ""))
    assert box.kind == "box" and boxed == len(box.rows_in(result.projections["pca"])) > 0
    heading.scroll_into_view_if_needed()
    shoot(page, screenshots, "explore-box")
    no_exception(page)

    # cleared, the first lasso drawn again selects its own images again (not the box, not nothing)
    page.get_by_role("button", name="Clear selection").click()
    expect(page.get_by_role("heading", name="Gallery")).to_be_visible(timeout=30_000)
    plot.scroll_into_view_if_needed()
    plot.hover()
    plot.locator(".modebar-btn[data-title='Lasso Select']").click()
    _drag_lasso(page, plot, [(0.35, 0.35), (0.6, 0.35), (0.6, 0.75), (0.4, 0.8)])
    expect(page.get_by_role("heading", name=f"Lasso: {shown} images")).to_be_visible(timeout=30_000)


def test_a_click_on_a_cell_of_the_cluster_versus_label_table_shows_its_images(page, server, stored_run,
                                                                              artifacts_dir):
    from core.selection import cell_rows

    result = stored_run[1]
    page.goto(f"{server}/metrics?run={result.run_id}")
    table = page.locator(".stPlotlyChart").last
    expect(table.locator(".scatterlayer .point").first).to_be_attached(timeout=60_000)
    settle(page)
    table.scroll_into_view_if_needed()
    cell = table.locator(".scatterlayer .point").nth(3)
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    heading = page.get_by_role("heading", name=re.compile(r"^cluster \d+, true label \d+: \d+ images?$"))
    expect(heading).to_be_visible(timeout=30_000)
    cluster, label, count = (int(v) for v in re.findall(r"\d+", heading.inner_text()))
    assert count == len(cell_rows(result.labels, result.dataset.labels, cluster, label)) > 0
    expect(page.locator(".dc-gallery figure")).to_have_count(min(count, 96))
    assert f"cell={cluster}%2C{label}" in page.url or f"cell={cluster},{label}" in page.url
    heading.scroll_into_view_if_needed()
    shoot(page, artifacts_dir / "screenshots", "metrics-cell")
    no_exception(page)


def test_merge_shows_the_nmi_change_undo_takes_it_back_and_a_refresh_keeps_the_draft(page, server, stored_run,
                                                                                      artifacts_dir):
    from core.runs import RunStore

    directory, result = stored_run
    merged = result.with_labels(np.where(result.labels == 1, 0, result.labels))
    _open_explore(page, server, result.run_id)
    page.get_by_text("Correct the clusters").click()
    box = page.get_by_role("combobox", name="Merge clusters")
    for cluster in ("cluster 0", "cluster 1"):
        box.scroll_into_view_if_needed()
        box.click()
        page.get_by_role("option", name=cluster, exact=True).click()
        settle(page, rounds=1)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Merge", exact=True).click()
    change = f"NMI {result.metrics.nmi:.3f} → {merged.metrics.nmi:.3f}"
    expect(page.get_by_text(change)).to_be_visible(timeout=30_000)
    page.get_by_text(change).scroll_into_view_if_needed()
    shoot(page, artifacts_dir / "screenshots", "explore-merge")
    page.reload()  # a refresh in the middle of editing
    expect(page.get_by_text("Steps: Merged cluster 1 into cluster 0")).to_be_attached(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text(change)).to_have_count(0, timeout=30_000)
    draft, _ = RunStore(directory).drafts.get(result.run_id)
    assert draft["position"] == 0 and len(draft["edits"]) == 1  # undone, and redo can bring it back
    page.get_by_role("button", name="Discard").click()
    settle(page)
    no_exception(page)


def test_a_link_opens_its_view_after_the_password_page(stored_run, tmp_path, page):
    """With a password set, a link to a selection shows the password page at the link's own address, and
    once the password is given, the view the link names: its page, its run and its selected images."""
    from core.selection import Selection
    from ui.access import PASSWORD_ENV

    directory, result = stored_run
    points = result.projections["pca"]
    low, high = np.percentile(points, 30, axis=0), np.percentile(points, 70, axis=0)
    box = Selection(kind="box", method="pca", x=(float(low[0]), float(high[0])), y=(float(low[1]), float(high[1])))
    shown = len(box.rows_in(points))
    with serve_app(tmp_path / "streamlit.log", env={"DEEP_CLUSTERING_HOME": str(directory),
                                                    PASSWORD_ENV: "correct horse"}) as url:
        fresh = page.context.browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        fresh.goto(f"{url}/explore?run={result.run_id}&sel={box.to_text()}")
        fresh.get_by_label("Password", exact=True).fill("correct horse")
        fresh.get_by_role("button", name="Sign in").click()  # the gate's own page (ui.gate), before Streamlit
        expect(fresh.get_by_role("heading", name=f"Box: {shown} images")).to_be_visible(timeout=60_000)
        assert "/explore" in fresh.url and f"run={result.run_id}" in fresh.url
        no_exception(fresh)
        fresh.context.close()
