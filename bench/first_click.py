"""The first click a presenter meets: a fresh server, a new user, Train at the defaults, in real Chromium.

    .venv/bin/python bench/first_click.py                  # N2D (the default) on digits
    .venv/bin/python bench/first_click.py --wait 0         # click as soon as the Train button is drawn

Starts the README's run command (`bash scripts/run_app.sh`, the venv already installed) on a free port
with an empty temporary store, opens the Train page in headless Chromium at 1280x720 and, `--wait`
seconds after the Train button is drawn (a person reading the page; default 5), clicks Train with the
defaults. It times the click to the first progress line with an epoch (epochs of digits are shorter than the page.s polling) and to the result ("Finished in"), then
clicks Train again on the same server with seed 1 (a warm worker that trains anew: the figure
bench/algorithms.py --click gives) and times that too. Each run's own phase timings, read back from the store, show where the first run's extra
seconds go, and the CPU seconds the server, the training process and Chromium each used during a click show
who the training shares the 2 cores with. Runs in CI? No: by hand.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from startup import free_port, launch_browser, start_app, wait_for  # noqa: E402


def cpu_seconds() -> dict:
    """CPU seconds used so far by the app's server, its training process and Chromium (from /proc; Linux)."""
    used = {"server": 0.0, "training process": 0.0, "browser": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        group = ("browser" if "chrom" in command else "training process" if "multiprocessing" in command
                 else "server" if "ui.serve" in command or "streamlit" in command else None)
        if group:
            used[group] += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return used


def train_once(page, home: Path, timeout_s: float = 300) -> tuple[float, float, dict]:
    """Click Train; seconds to the first progress line with an epoch (an epoch of digits is shorter than the
    page's polling, so not necessarily the first epoch), and to the result on the page ("Finished in", once
    the store has the run finished)."""
    from playwright.sync_api import expect

    from core.runs import RunStore

    done_before = len(RunStore(home).list_runs(status="finished"))
    cpu_before = cpu_seconds()
    clicked = time.perf_counter()
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"epoch \d+/\d+")).first).to_be_visible(timeout=timeout_s * 1000)
    first_epoch = time.perf_counter() - clicked
    while len(RunStore(home).list_runs(status="finished")) == done_before:
        if time.perf_counter() - clicked > timeout_s:
            raise TimeoutError(f"no run finished in {timeout_s:.0f} s")
        time.sleep(0.1)
    expect(page.get_by_text("Finished in")).to_be_visible(timeout=60_000)
    cpu_after = cpu_seconds()
    return first_epoch, time.perf_counter() - clicked, {k: cpu_after[k] - cpu_before[k] for k in cpu_after}


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wait", type=float, default=5.0, help="seconds between the Train button drawn and the click")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="first-click-")
    port = free_port()
    with sync_playwright() as p:
        browser, page = launch_browser(p)
        start = time.perf_counter()
        server = start_app(port, home)
        try:
            wait_for(f"http://localhost:{port}/")
            page.goto(f"http://localhost:{port}/")
            expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=120_000)
            drawn = time.perf_counter() - start
            page.wait_for_timeout(args.wait * 1000)
            try:
                first = train_once(page, Path(home))
                page.wait_for_timeout(2_000)
                # Another seed: the same one would reuse the autoencoder the first run kept.
                page.get_by_text("Advanced", exact=True).first.click()
                seed = page.get_by_label("Seed", exact=True)
                seed.fill("1")
                seed.press("Enter")
                page.wait_for_timeout(1_000)
                second = train_once(page, Path(home))
            except Exception:
                page.screenshot(path=str(Path(home) / "failed.png"))
                print(f"failed; the page as it was: {Path(home) / 'failed.png'}")
                raise
        finally:
            server.terminate()
            server.wait(10)
        browser.close()
    rows = [("first click (fresh server)", *first), ("second click (warm worker)", *second)]
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs; Train page drawn {drawn:.1f} s after the command; "
          f"clicked {args.wait:g} s later; the defaults (the app's default method on its default dataset)")
    groups = list(first[2])
    print("| click | to the first epoch (s) | to the result (s) | " + " | ".join(f"CPU s, {g}" for g in groups) + " |")
    print("|---|---|---|" + "---|" * len(groups))
    for name, to_epoch, to_result, cpu in rows:
        print(f"| {name} | {to_epoch:.1f} | {to_result:.1f} | " + " | ".join(f"{cpu[g]:.1f}" for g in groups) + " |")
    print(f"\nThe first click pays {first[1] - second[1]:.1f} s more than the second.\n")
    print_phases(Path(home))


def print_phases(home: Path) -> None:
    """Each run's phase timings as the store recorded them, side by side."""
    from core.runs import RunStore

    store = RunStore(home)
    records = sorted(store.list_runs(), key=lambda r: r.id)
    if not records:
        print("(no runs in the store)")
        return
    phases = list(dict.fromkeys(phase for r in records for phase in r.timings))
    print("| phase | " + " | ".join(f"run {r.id} (s)" for r in records) + " |")
    print("|---|" + "---|" * len(records))
    for phase in phases:
        print(f"| {phase} | " + " | ".join(f"{r.timings.get(phase, 0):.1f}" for r in records) + " |")


if __name__ == "__main__":
    main()
