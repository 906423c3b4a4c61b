"""The presenter's page in Chromium, on real k-means runs of digits: reached from Explore by its link, it shows
the projection on the first screen of 1280x720 (and of 1920x1080), the clusters' galleries under the names a
person gave them and the spread over seeds, with no control, no navigation and no cut title. And the HTML report
opens from a file with the network cut, its Plotly charts drawn and interactive. Screenshots go to
tests/artifacts/screenshots/."""
import os
import shutil

import pytest

from tests.browser import CHROMIUM, browser_page, no_exception, serve_app, settle, shoot

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

# Anything a person could press, type in or pick, and the app's navigation and chrome (Streamlit's "Skip to main
# content" link for keyboards shows only when focused)
CONTROLS = ("button, input, select, textarea, a[href]:not([data-testid=stSkipToContent]), [role=button], "
            "[role=combobox], [role=slider], [role=switch], [role=radio], [role=checkbox], [role=tab], [role=link], "
            "nav, [data-testid=stSidebar], "
            "[data-testid=stSidebarNav], [data-testid=stHeader], [data-testid=stToolbar], .modebar")
VISIBLE_CONTROLS = """selector => [...document.querySelectorAll(selector)].filter(e => {
    const box = e.getBoundingClientRect(), style = getComputedStyle(e);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
}).map(e => e.outerHTML.slice(0, 160))"""
NAMED = "round ones"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, digits):
    """Two k-means runs of digits into 3 clusters that differ only in seed (#1, #2), and #1 corrected by hand
    with cluster 0 named (#3)."""
    from core.experiment import RunConfig
    from core.runs import RunStore
    from core.runs.runner import record_run

    directory = tmp_path_factory.mktemp("present-browser-store")
    store = RunStore(directory)
    for seed in range(2):
        record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=3, seed=seed, projection="pca"), store,
                   dataset=digits)
    first = store.load_result(1)
    store.add_derived_run(1, first.with_labels(first.labels, cluster_names={0: NAMED}), changes=[f"named {NAMED}"])
    return directory


@pytest.fixture(scope="module")
def server(store_dir, tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("present") / "streamlit.log",
                   env={"DEEP_CLUSTERING_HOME": str(store_dir)}) as url:
        yield url


@pytest.fixture(scope="module")
def screenshots(artifacts_dir):
    return artifacts_dir / "screenshots"


def presented(page, height: int) -> None:
    """The story on screen: a title that is not cut, the projection whole on the first screen, the galleries,
    and nothing to press."""
    title = page.locator(".st-key-present_title h1")
    expect(title).to_be_visible(timeout=60_000)
    projection = page.locator(".st-key-present_projection .js-plotly-plot")
    expect(projection).to_be_visible(timeout=60_000)
    expect(page.locator(".dc-cluster img").first).to_be_visible(timeout=60_000)
    settle(page)
    no_exception(page)
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 2")
    box = projection.bounding_box()
    assert box["height"] >= 0.5 * height and box["y"] + box["height"] <= height, box  # sized to the screen
    assert page.evaluate(VISIBLE_CONTROLS, CONTROLS) == []


def test_presenter_page_tells_the_story_without_a_control(server, screenshots):
    with browser_page(width=1280, height=720) as page:
        page.goto(f"{server}/explore?run=1")
        link = page.get_by_role("link", name="Present this run")
        expect(link).to_be_visible(timeout=60_000)
        expect(page.locator(".dc-gallery img").first).to_be_visible(timeout=60_000)  # Explore drawn, then the click
        settle(page)
        link.click()
        page.wait_for_url("**/present?run=1", timeout=30_000)
        presented(page, 720)
        expect(page.locator(".st-key-present_title h1")).to_have_text("k-means on pixels on digits")
        # a gallery per cluster (largest first), under its name
        assert sorted(page.locator(".dc-cluster h4").all_text_contents()) == ["cluster 0", "cluster 1", "cluster 2"]
        expect(page.get_by_text("mean 0.").first).to_be_visible()  # the scores' spread over the 2 seeds
        expect(page.locator(".dc-spread")).to_contain_text("Seeds")
        shoot(page, screenshots, "present_1280x720")

        page.set_viewport_size({"width": 1920, "height": 1080})  # a projector
        page.wait_for_timeout(1000)
        presented(page, 1080)
        shoot(page, screenshots, "present_1920x1080")

        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(f"{server}/present?run=3")  # corrected by hand: the cluster's name, not "cluster 0"
        presented(page, 720)
        expect(page.locator(".dc-cluster h4", has_text=NAMED)).to_be_visible()
        expect(page.locator(".st-key-present_projection")).to_contain_text(NAMED)  # in the legend too


def test_report_opens_from_a_file_offline_with_interactive_charts(store_dir, tmp_path):
    from core.runs import FINISHED, RunStore
    from core.runs.compare import seed_summary
    from core.runs.report import html_report

    store = RunStore(store_dir)
    path = tmp_path / "report.html"
    path.write_text(html_report(store.load_result(1), run_id=1, name=store.get(1).name,
                                spread=seed_summary(store.list_runs(status=FINISHED), 1)), encoding="utf-8")
    with browser_page(width=1280, height=720) as page:
        asked = []
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else (asked.append(route.request.url), route.abort()))
        page.goto(path.as_uri())
        charts = page.locator(".js-plotly-plot")
        expect(charts.first).to_be_visible(timeout=30_000)
        assert charts.count() >= 4 and not asked
        charts.nth(1).hover()  # the projection: Plotly's toolbar shows, the chart can be zoomed and toggled
        expect(page.locator(".modebar").first).to_be_attached()
        assert page.evaluate("document.querySelectorAll('.js-plotly-plot .legendtoggle').length") >= 3
