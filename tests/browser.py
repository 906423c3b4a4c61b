"""Helpers to serve the app as the README's run command does (`python -m ui.serve`, i.e. `streamlit run
app.py` with the training process started with the server) and drive it in Debian's Chromium."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(log_path: Path, env: dict | None = None, *, plain_streamlit: bool = False):
    """Run the app on a free localhost port (with `env` added to the environment); yields its URL once it
    answers its health check. `plain_streamlit`: `streamlit run app.py`, as someone may start it by hand."""
    port = free_port()
    command = ["streamlit", "run", str(ROOT / "app.py")] if plain_streamlit else ["ui.serve"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *command, "--server.headless=true",
             f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 90
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    if time.time() > deadline or process.poll() is not None:
                        raise RuntimeError(f"streamlit did not start; see {log_path}")
                    time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    from playwright.sync_api import expect, sync_playwright

    # Playwright's 5 s default is too short on two loaded cores: a page can be half-drawn for longer than that
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(viewport={"width": width, "height": height}).new_page()
        finally:
            browser.close()


def shoot(page, folder: Path, name: str):
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # let charts finish their transitions
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def set_slider(page, label: str, value: int):
    """Move a streamlit slider with the keyboard: Home, then Right arrow steps."""
    from playwright.sync_api import expect

    slider = page.locator(f'input[type=range][aria-label="{label}"]')  # exact: role names repeat the label
    settle(page, rounds=1)  # a rerun briefly shows the old widget beside the new: a press could go to the old one
    expect(slider).to_have_count(1, timeout=30_000)
    slider.focus()
    slider.press("Home")
    for _ in range(10):  # a rerun on a loaded machine can swallow a key press: check, then make up the rest
        settle(page, rounds=1)  # let presses still in flight land before counting
        expect(slider).to_have_count(1, timeout=30_000)
        current = int(slider.get_attribute("aria-valuetext"))
        if current == value:
            break
        for _ in range(abs(value - current)):
            slider.press("ArrowRight" if value > current else "ArrowLeft")
    expect(slider).to_have_attribute("aria-valuetext", str(value))
    # Each key press sends its value, and a burst of them races the reruns they start: on two loaded cores
    # the server once kept 19 while the slider showed 20. Once the page is quiet, step away and back, so
    # the last value is sent alone, as a person's one deliberate press would be.
    settle(page)
    expect(slider).to_have_count(1, timeout=30_000)
    away, back = ("ArrowLeft", "ArrowRight") if value > float(slider.get_attribute("min") or 0) \
        else ("ArrowRight", "ArrowLeft")
    slider.press(away)
    settle(page)
    slider.press(back)
    settle(page)
    expect(slider).to_have_attribute("aria-valuetext", str(value))


def settle(page, rounds: int = 2):
    """Wait as a person does until the page has applied what was just typed or moved: no rerun running
    (Streamlit's status widget gone), twice a second apart. A click while a rerun redraws its button can be
    lost on loaded cores."""
    from playwright.sync_api import expect

    for _ in range(rounds):
        page.wait_for_timeout(500)
        expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0, timeout=60_000)


def no_exception(page):
    """The page shows no Streamlit exception box."""
    assert not page.locator("[data-testid='stException']").count()


def choose(page, label: str, option: str):
    """Pick `option` in the select box labelled `label`, scrolled to the middle of the screen first, as a
    person would: a box at the bottom edge of a 1280x720 screen opens no list of options."""
    from playwright.sync_api import expect

    box = page.get_by_label(label, exact=True).first
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # a rerun that lands as the list opens closes it again: open it once more
        settle(page, rounds=1)
        box.evaluate("element => element.scrollIntoView({block: 'center'})")
        box.click()
        try:
            expect(wanted).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    wanted.click()
