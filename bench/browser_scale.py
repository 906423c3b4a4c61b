"""One large run in the real browser: MNIST's size trained, clustered, projected and shown, and the peak memory
of the web server and of the training process while it happens.

    .venv/bin/python bench/browser_scale.py                          # 70,000 images, N2D, 5 epochs
    .venv/bin/python bench/browser_scale.py --n 3000 --epochs 2      # a quick check of the script itself

The images come in by the route a user has for data of that size: synthetic 28x28 images with 10 known
patterns written to an .npz and added with ``python -m core datasets add`` to a temporary store
(``DEEP_CLUSTERING_HOME``; never the user's), as ``bench/scale.py`` does ("add"). The app is then started
as the README starts it (``python -m ui.serve``: the web server, which starts the training process as its
child), and Debian's Chromium on a 1280x720 screen walks the journey a person takes: on Train it picks the
dataset (all of its images: the "Sample size" slider moved to its end where the dataset has one), keeps the
default algorithm, sets the epochs and presses Train ("train": from the press until the page says "Finished
in"); then opens Explore ("explore": from the click until the projection's scatter has its points), scrolls
to the cluster gallery ("gallery": until its images have loaded) and opens Metrics ("metrics": until the
scores show). A screenshot of each page goes to ``--out`` (a temporary folder unless given; its path is
printed) and no page may show a Streamlit exception.

Twice a second a thread reads ``/proc/PID/status`` of the server and every process under it: the largest
sum of their resident memory at one instant (``VmRSS``), and at the end, before the server stops, each
one's own peak (``VmHWM``, the kernel's high-water mark). The browser's memory is not in it. The target
(issue: "70,000 images ... with the server and the training process together under 3 GB peak memory"): the
simultaneous sum under 3,000 MB. The run's own seconds per phase (its ``timings`` in the store) follow.

Runs in CI? No: by hand (tens of minutes at 70,000 images on 2 cores; Linux only, for /proc).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import add_dataset  # noqa: E402  (bench/scale.py: bench/ is no package)
from touch import chart_drew  # noqa: E402  (bench/touch.py: a WebGL chart that drew has ink)
from tests.browser import browser_page, choose, no_exception, serve_app, set_slider, settle, shoot  # noqa: E402

TARGET_MB = 3000
TRAIN_LIMIT_S = 30 * 60
POLL_S = 0.5


# --- processes, from /proc -------------------------------------------------------------------------------

def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def server_pid(port: int) -> int:
    """The process serving the app on `port`: `python -m ui.serve ... --server.port=<port>`."""
    wanted = f"--server.port={port}"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            args = cmdline(int(entry.name))
            if "ui.serve" in args and wanted in args:
                return int(entry.name)
    raise RuntimeError(f"no `python -m ui.serve` process with {wanted} in /proc")


def descendants(root: int) -> list[int]:
    """Every process under `root` (children, their children, ...), from the parent ids in /proc/*/stat."""
    parent_of = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent_of[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold ") "
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parent_of.items() if parent in frontier]
        found += children
        frontier = children
    return found


def memory_kb(pid: int) -> dict:
    """VmRSS and VmHWM of `pid` in kB ({} once it has gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        return {}
    return out


def role(args: list[str]) -> str:
    """What a process under the server is, from its command line."""
    text = " ".join(args)
    if "resource_tracker" in text:
        return "resource tracker"
    if "spawn_main" in text or "multiprocessing" in text:
        return "training"
    return os.path.basename(args[0]) if args else "?"


class MemoryWatch:
    """Polls the server and every process under it: the largest simultaneous sum of VmRSS (and the phase
    it fell in), each process's latest VmHWM."""

    def __init__(self, server: int):
        self.server, self.phase = server, "start"
        self.peak_sum_kb, self.peak_phase, self.peak_parts = 0, "", {}
        self.hwm, self.roles = {}, {server: "server"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)

    def sample(self) -> None:
        pids = [self.server, *descendants(self.server)]
        now = {}
        for pid in pids:
            figures = memory_kb(pid)
            if not figures:
                continue
            if pid not in self.roles:
                self.roles[pid] = role(cmdline(pid))
            now[pid] = figures.get("VmRSS", 0)
            self.hwm[pid] = max(self.hwm.get(pid, 0), figures.get("VmHWM", 0))
        total = sum(now.values())
        if total > self.peak_sum_kb:
            self.peak_sum_kb, self.peak_phase, self.peak_parts = total, self.phase, now

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(POLL_S)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()  # the last VmHWM of each, read before the server is stopped


# --- the browser journey ---------------------------------------------------------------------------------

def slider_to_end(page, label: str) -> str:
    """Move the slider labelled `label` to its largest value (the End key, as a person would); its value."""
    from playwright.sync_api import expect

    slider = page.locator(f'input[type=range][aria-label="{label}"]')
    settle(page, rounds=1)
    expect(slider).to_have_count(1, timeout=30_000)
    high = str(int(float(slider.get_attribute("max"))))
    for _ in range(5):  # a rerun on loaded cores can swallow the key: press again until it holds
        slider.focus()
        slider.press("End")
        settle(page)
        expect(slider).to_have_count(1, timeout=30_000)
        if slider.get_attribute("aria-valuetext") == high:
            break
    expect(slider).to_have_attribute("aria-valuetext", high)
    return high


# the projection: Plotly's figure has its points, and they are drawn (an SVG point layer, or a WebGL canvas)
SCATTER_DRAWN = """() => { const g = document.querySelector('.stPlotlyChart .js-plotly-plot');
    if (!g || !g._fullData) return 0;
    const n = g._fullData.reduce((s, d) => s + ((d.type || '').startsWith('scatter') && d.x ? d.x.length : 0), 0);
    const gl = g._fullData.some(d => d.type === 'scattergl');
    const drawn = gl ? g.querySelectorAll('canvas').length > 0 : g.querySelectorAll('.scatterlayer .point').length > 0;
    return drawn ? n : 0; }"""

SCATTER_KIND = """() => { const g = document.querySelector('.stPlotlyChart .js-plotly-plot');
    return g && g._fullData ? [...new Set(g._fullData.map(d => d.type))].join('+') : ''; }"""

GALLERY_LOADED = """() => { const imgs = [...document.querySelectorAll('.dc-gallery img')];
    return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0) ? imgs.length : 0; }"""


def wait_until_done(page, limit_s: float) -> str:
    """Poll the Train page until the run has ended: "finished", or the page's failure/cancel line."""
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        if page.get_by_text("Finished in").count():
            return "finished"
        for text in ("Training failed", "Training cancelled"):
            if page.get_by_text(text).count():
                return page.get_by_text(text).first.inner_text()
        page.wait_for_timeout(2000)
    return f"not done after {limit_s:.0f} s"


def journey(page, url: str, name: str, n: int, epochs: int, out: Path, watch: MemoryWatch, seconds: dict,
            notes: list) -> None:
    from playwright.sync_api import expect

    watch.phase = "open"
    page.goto(url)
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=120_000)
    watch.phase = "pick"
    choose(page, "Dataset", f"{name} (yours)")
    expect(page.get_by_text(f"{n:,} images of 28x28")).to_be_visible(timeout=300_000)
    if page.locator('input[type=range][aria-label="Sample size"]').count():
        notes.append(f"Sample size slider moved to its end: {slider_to_end(page, 'Sample size')} images")
    if page.locator('input[type=range][aria-label="Epochs"]').count():
        set_slider(page, "Epochs", epochs)
    else:
        notes.append("no Epochs slider: the algorithm's default epochs")
    settle(page)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=60_000)
    no_exception(page)
    page.get_by_role("heading", name="Train", exact=True).scroll_into_view_if_needed()  # the box and the button
    shoot(page, out, "1_train")

    watch.phase = "train"
    start = time.perf_counter()
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Training autoencoder")).to_be_visible(timeout=300_000)
    shoot(page, out, "2_training")
    ended = wait_until_done(page, TRAIN_LIMIT_S)
    seconds["train-until-done"] = time.perf_counter() - start
    if ended != "finished":
        shoot(page, out, "3_not_finished")
        raise RuntimeError(f"the run did not finish: {ended}")
    no_exception(page)
    shoot(page, out, "3_trained")

    watch.phase = "explore"
    start = time.perf_counter()
    page.get_by_role("link", name="Explore").first.click()
    expect(page.get_by_role("heading", name="Explore", exact=True)).to_be_visible(timeout=120_000)
    page.wait_for_function(SCATTER_DRAWN, timeout=300_000, polling=200)
    seconds["explore-drawn"] = time.perf_counter() - start
    points = page.evaluate(SCATTER_DRAWN)
    chart = page.locator(".stPlotlyChart").first
    page.wait_for_timeout(800)  # let the chart finish its transition before looking at its pixels
    notes.append(f"projection: {points:,} points ({page.evaluate(SCATTER_KIND)}), "
                 f"ink on its screenshot: {chart_drew(page, chart)}")
    settle(page)
    no_exception(page)
    shoot(page, out, "4_explore")

    watch.phase = "gallery"
    start = time.perf_counter()
    heading = page.get_by_role("heading", name="Gallery", exact=True)
    expect(heading).to_have_count(1, timeout=120_000)
    heading.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.wait_for_function(GALLERY_LOADED, timeout=300_000, polling=200)
    seconds["gallery"] = time.perf_counter() - start
    notes.append(f"gallery: {page.evaluate(GALLERY_LOADED)} images")
    no_exception(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(out / "5_gallery.png"))  # the screen as scrolled, not the whole page

    watch.phase = "metrics"
    start = time.perf_counter()
    page.get_by_role("link", name="Metrics").first.click()
    expect(page.get_by_role("heading", name="Metrics", exact=True)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Clusters versus true labels")).to_be_visible(timeout=300_000)
    expect(page.locator("[data-testid='stMetric']").first).to_be_visible(timeout=120_000)
    seconds["metrics"] = time.perf_counter() - start
    settle(page)
    no_exception(page)
    shoot(page, out, "6_metrics")
    watch.phase = "end"


def run_timings(home: Path) -> tuple:
    """The newest run's (id, status, timings) from the store, or None."""
    from core.runs import RunStore

    runs = RunStore(home).list_runs(limit=1)
    return (runs[0].id, runs[0].status, runs[0].timings) if runs else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=70_000, help="how many 28x28 images")
    parser.add_argument("--epochs", type=int, default=5, help="the network's epochs (the app's default is 75)")
    parser.add_argument("--seed", type=int, default=0, help="of the synthetic images")
    parser.add_argument("--out", type=Path, help="folder for the screenshots and the server's log "
                                                 "(default: a new temporary folder)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-browser-scale-"))
    os.environ["DEEP_CLUSTERING_HOME"] = str(home)  # never the user's store
    out = args.out or Path(tempfile.mkdtemp(prefix="browser-scale-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, Python {platform.python_version()}; "
          f"{args.n:,} synthetic 28x28 images, the default algorithm, {args.epochs} epochs; store {home}; "
          f"screenshots and server log in {out}", flush=True)

    name, added = add_dataset(args.n, args.seed, home)
    if name is None:
        raise SystemExit(f"datasets add refused {args.n:,} images: {added}")
    seconds = {"add": added}
    print(f"add: {added:.1f} s", flush=True)

    notes, failure, watch = [], None, None
    with serve_app(out / "server.log", env={"DEEP_CLUSTERING_HOME": str(home)}) as url:
        server = server_pid(int(url.rsplit(":", 1)[1]))
        with MemoryWatch(server) as watch, browser_page(1280, 720) as page:
            try:
                journey(page, url, name, args.n, args.epochs, out, watch, seconds, notes)
            except Exception as error:  # still report the memory and what was timed
                failure = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                try:
                    page.screenshot(path=str(out / "failed.png"), full_page=True)
                except Exception:
                    pass

    print(f"\n{'phase':<18} {'seconds':>8}")
    for phase in ("add", "train-until-done", "explore-drawn", "gallery", "metrics"):
        value = seconds.get(phase)
        print(f"{phase:<18} {'-' if value is None else format(value, '.1f'):>8}")
    print(f"\n{'process':<22} {'pid':>7} {'peak MB (VmHWM)':>16}")
    for pid, kb in sorted(watch.hwm.items(), key=lambda item: item[0] != server):
        print(f"{watch.roles.get(pid, '?'):<22} {pid:>7} {kb / 1024:>16.0f}")
    training = [kb for pid, kb in watch.hwm.items() if watch.roles.get(pid) == "training"]
    peak_mb = watch.peak_sum_kb / 1024
    parts = ", ".join(f"{watch.roles.get(pid, '?')} {kb / 1024:.0f}" for pid, kb in watch.peak_parts.items())
    print(f"server {watch.hwm.get(server, 0) / 1024:.0f} MB, training process "
          f"{max(training, default=0) / 1024:.0f} MB (each its own peak); together at one instant at most "
          f"{peak_mb:.0f} MB (during {watch.peak_phase}: {parts}); under {TARGET_MB:,} MB: "
          f"{'yes' if peak_mb < TARGET_MB else 'NO'}")
    print(f"sum of each process's own peak (an upper bound; the peaks may fall at different times): "
          f"{sum(watch.hwm.values()) / 1024:.0f} MB")
    for note in notes:
        print(f"- {note}")
    try:
        record = run_timings(home)
    except Exception as error:  # optional: the figures above stand without it
        record = None
        print(f"- the run's timings unreadable from the store: {error}")
    if record is not None:
        run_id, status, timings = record
        print(f"run #{run_id} ({status}), its own seconds per phase: "
              + ", ".join(f"{phase} {value:.1f}" for phase, value in timings.items()))
    print(f"screenshots: {out}")
    if failure:
        raise SystemExit(f"FAILED: {failure} (the page: {out / 'failed.png'}, the server: {out / 'server.log'})")


if __name__ == "__main__":
    main()
