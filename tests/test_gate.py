"""A shared server: with a password set, the run command puts a gate in front of Streamlit, and a visitor
who never gave the password can do nothing but sign in. Checked as a visitor would try it: over raw HTTP
and Streamlit's own websocket protocol (no browser), against `python -m ui.serve` itself."""
import concurrent.futures
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.conftest import ROOT
from ui.gate import ACCESS_HEADER, EDITOR, VIEWER, Guard, Limits

EDITOR_PASSWORD, VIEWER_PASSWORD = "correct horse battery", "only looking"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_each_address_has_a_few_tries_then_waits_longer_each_time_and_all_together_are_bounded():
    clock = Clock()
    guard = Guard(EDITOR_PASSWORD, VIEWER_PASSWORD, clock=clock,
                  limits=Limits(tries_per_address=3, first_wait_seconds=10, wrong_per_minute=8))
    assert [guard.sign_in("10.0.0.1", "guess") for _ in range(3)] == [None] * 3
    assert guard.wait_before_trying("10.0.0.1") == 10
    assert guard.sign_in("10.0.0.1", EDITOR_PASSWORD) is None  # while it waits, even the password is refused
    assert guard.wait_before_trying("10.0.0.2") == 0           # another address is not held up by it
    clock.now += 11
    assert guard.sign_in("10.0.0.1", "guess") is None and guard.wait_before_trying("10.0.0.1") == 20  # doubled
    # Many addresses guessing at once (parallel sessions): 8 wrong a minute in all, then everyone waits.
    for i in range(4):
        guard.sign_in(f"10.0.1.{i}", "guess")
    assert guard.wait_before_trying("10.0.2.1") > 0
    clock.now += 61
    token = guard.sign_in("10.0.2.1", VIEWER_PASSWORD)
    assert guard.role(token) == VIEWER and guard.role(guard.sign_in("10.0.2.2", EDITOR_PASSWORD)) == EDITOR


def test_sessions_expire_and_end_when_signed_out():
    clock = Clock()
    guard = Guard(EDITOR_PASSWORD, clock=clock, limits=Limits(session_hours=1))
    token = guard.sign_in("10.0.0.1", EDITOR_PASSWORD)
    assert guard.role(token) == EDITOR and guard.role("forged") is None and guard.role(None) is None
    clock.now += 3599
    assert guard.role(token) == EDITOR
    clock.now += 2
    assert guard.role(token) is None
    other = guard.sign_in("10.0.0.1", EDITOR_PASSWORD)
    guard.hold(other, "its websocket")
    assert guard.sign_out(other) == {"its websocket"} and guard.role(other) is None
    with pytest.raises(ValueError, match="must differ"):
        Guard("same", "same")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _http(url, *, data=None, method=None, cookie=None, headers=None):
    """(status, headers, body) of one request, never following a redirect."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """`python -m ui.serve` with an editor's and a viewer's password, on a free port of this machine."""
    from core.experiment import RunConfig
    from core.runs import RunStore
    from core.runs.runner import record_run

    store = tmp_path_factory.mktemp("shared-store")
    record_run(RunConfig(dataset="digits", algorithm="kmeans", projection="pca", n_samples=300), RunStore(store),
               name="shown to a stakeholder")
    port = _free_port()
    env = {**os.environ, "DEEP_CLUSTERING_HOME": str(store),
           "DEEP_CLUSTERING_PASSWORD": EDITOR_PASSWORD, "DEEP_CLUSTERING_VIEWER_PASSWORD": VIEWER_PASSWORD,
           "DEEP_CLUSTERING_TRUSTED_PROXY": "127.0.0.1"}  # as behind an HTTPS proxy: clients told apart by it
    log = tmp_path_factory.mktemp("log") / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.address", "127.0.0.1",
                                   "--server.port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if _http(f"{base}/-/signin")[0] == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline and server.poll() is None, log.read_text()
            time.sleep(0.3)
        yield server, base
    finally:
        server.terminate()
        server.wait(20)


def _sign_in(base, password, next_page="/", client="198.51.100.1"):
    status, headers, _ = _http(f"{base}/-/signin", method="POST", headers={"X-Forwarded-For": client},
                               data=urllib.parse.urlencode({"password": password, "next": next_page}).encode())
    cookie = (headers.get("Set-Cookie") or "").split(";")[0]
    return status, headers.get("Location"), cookie


def _stream(base, cookie=None, extra=None):
    headers = {"Cookie": cookie} if cookie else {}
    headers.update(extra or {})
    return connect(base.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                   additional_headers=headers, open_timeout=30, max_size=None)


def _run_script(websocket, timeout=120):
    """Ask the server to run the app (as a browser does on opening a page) and wait until the run ends."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    message = BackMsg()
    message.rerun_script.query_string = ""
    message.rerun_script.page_script_hash = ""
    websocket.send(message.SerializeToString())
    deadline = time.time() + timeout
    while time.time() < deadline:
        reply = ForwardMsg()
        reply.ParseFromString(websocket.recv(timeout=timeout))
        if reply.WhichOneof("type") == "script_finished":
            return
    raise AssertionError("the app did not finish a run")


def _training_processes(server) -> int:
    """Training processes the server has started (multiprocessing 'spawn' children of its process)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        count += parent == server.pid and b"spawn_main" in command
    return count


def test_a_visitor_without_the_password_reaches_nothing_but_the_sign_in_page(shared_server):
    server, base = shared_server
    status, headers, _ = _http(f"{base}/explore?run=3&sel=box:pca:0,0;1,1")
    assert status == 303 and headers["Location"] == "/-/signin?next=/explore%3Frun%3D3%26sel%3Dbox%3Apca%3A0%2C0%3B1%2C1"
    status, _, page = _http(f"{base}/-/signin?next=/explore%3Frun%3D3")
    assert status == 200 and b'name="password"' in page and b'value="/explore?run=3"' in page
    # the websocket that carries every page and message (clear cache, upload URLs, widget values)
    for extra in ({}, {ACCESS_HEADER: "anything editor"}, {"Cookie": "dc_session=forged"}):
        with pytest.raises(InvalidStatus) as refused:
            _stream(base, extra=extra)
        assert refused.value.response.status_code == 401
    # upload URLs and the app's own files
    status, _, _ = _http(f"{base}/_stcore/upload_file/session/file", data=b"x" * 1000, method="PUT")
    assert status == 401
    assert _http(f"{base}/static/index.html")[0] == 401 and _http(f"{base}/_stcore/host-config")[0] == 401
    # the health check answers anyone, and only itself: a second request sent on its connection (with the
    # headers that would keep it open) never reaches the app
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(b"GET /_stcore/health HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade, keep-alive\r\n\r\nGET /_stcore/host-config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok"), answer
    # a sign-in never sends anyone to another site
    assert _sign_in(base, EDITOR_PASSWORD, "//evil.example/x")[1] == "/"


def test_a_signed_in_session_clearing_the_cache_never_starts_a_second_training_process(shared_server):
    from streamlit.proto.BackMsg_pb2 import BackMsg

    server, base = shared_server
    status, location, cookie = _sign_in(base, EDITOR_PASSWORD, "/explore?run=3")
    assert status == 303 and location == "/explore?run=3" and cookie.startswith("dc_session=")
    assert _http(f"{base}/_stcore/health", cookie=cookie)[0] == 200
    with _stream(base, cookie) as websocket:
        _run_script(websocket)
        assert _training_processes(server) == 1
        for _ in range(3):  # "Clear cache", as the menu or any websocket client sends it
            clear = BackMsg()
            clear.clear_cache = True
            websocket.send(clear.SerializeToString())
            _run_script(websocket)
        time.sleep(1)
        assert _training_processes(server) == 1


def test_a_viewer_cannot_upload_and_signing_out_closes_the_sessions_websocket(shared_server):
    server, base = shared_server
    _, _, viewer = _sign_in(base, VIEWER_PASSWORD)
    status, _, _ = _http(f"{base}/_stcore/upload_file/session/file", data=b"x" * 1000, method="PUT", cookie=viewer)
    assert status == 403
    with _stream(base, viewer) as websocket:
        _run_script(websocket)
        assert _http(f"{base}/-/signout", cookie=viewer)[0] == 303
        with pytest.raises(ConnectionClosed):
            for _ in range(100):
                websocket.recv(timeout=10)
    with pytest.raises(InvalidStatus):
        _stream(base, viewer)


def test_a_viewer_opens_and_downloads_runs_and_finds_nothing_that_changes_them(shared_server):
    """In a browser: the viewer's password opens Runs (no Train, Sweeps or Datasets page, no rename, tag,
    delete or import), a run opens in Explore without the correction tools, and "Sign out" ends it."""
    pytest.importorskip("playwright")
    from playwright.sync_api import expect

    from tests.browser import browser_page

    server, base = shared_server
    with browser_page(1280, 720) as page:
        page.goto(f"{base}/train")
        page.get_by_label("Password").fill(VIEWER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Signed in to look and download only")).to_be_visible()
        navigation = page.get_by_test_id("stSidebarNav").inner_text()
        assert "Explore" in navigation and "Compare" in navigation
        assert not {"Train", "Sweeps", "Datasets"} & set(navigation.split()), navigation
        expect(page.get_by_role("button", name="Whole run, to import in another dashboard (.zip)")).to_be_visible()
        for absent in ("Rename, tag or delete", "Disk use, delete several, import a run",
                       "Train again with these settings"):
            expect(page.get_by_text(absent)).to_have_count(0)
        page.get_by_role("button", name="Open in Explore").click()
        expect(page.get_by_role("heading", name="Explore", exact=True)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Correct the clusters")).to_have_count(0)
        expect(page.get_by_text("Place new images in this run")).to_have_count(0)
        page.get_by_role("link", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        page.goto(f"{base}/explore")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)


def test_guessing_in_parallel_sessions_is_bounded_per_address_and_in_all(shared_server):
    """Last in this module: it leaves the gate refusing guesses for a minute."""
    server, base = shared_server
    tries = Limits().tries_per_address
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: _sign_in(base, f"guess {i}", client="203.0.113.7")[0], range(12)))
    assert answers.count(401) == tries and answers.count(429) == 12 - tries, answers
    assert _sign_in(base, EDITOR_PASSWORD, client="203.0.113.7")[0] == 429  # the password too, while it waits
    assert _sign_in(base, "guess", client="203.0.113.8")[0] == 401          # another address has its own tries
    with concurrent.futures.ThreadPoolExecutor(12) as pool:  # many addresses at once: bounded in all
        answers = list(pool.map(lambda i: _sign_in(base, "guess", client=f"192.0.2.{i}")[0], range(40)))
    assert answers.count(401) <= Limits().wrong_per_minute and answers[-1] == 429, answers
    status, _, cookie = _sign_in(base, EDITOR_PASSWORD, client="192.0.2.200")
    assert status == 429 and not cookie
