"""The gate in front of a shared server: nothing reaches Streamlit until a password was given.

With a password set, ``python -m ui.serve`` (``bash scripts/run_app.sh``) starts Streamlit on a private
loopback port and this gate on the address and port the user asked for. Every connection's first request
is read here before a byte of it reaches Streamlit:

- ``/-/signin`` is the gate's own small page (a password box); ``/-/signout`` ends a session.
- ``/_stcore/health`` answers anyone ("ok": for a load balancer or an HTTPS proxy's check).
- Every other request (the pages, their scripts, the websocket that carries every page and every
  message to the server, upload URLs) needs a signed-in session's cookie. Without one, a page's address
  is sent to the sign-in page (keeping the address to come back to) and anything else gets 401.
- The password is checked in constant time. Each client address has a few tries, then waits, longer each
  time; all addresses together have a bound per minute (parallel sessions guess no faster).
- Two passwords: the editor's, and optionally a viewer's (a stakeholder looks, explores and downloads,
  and changes nothing). The gate tells the app which one a session gave in a header that it sets itself
  (a client's own is dropped) with a per-server secret, so the app trusts no one else's word for it.
  Viewers' uploads are refused here as well.
- Sessions expire; signing out or expiring closes the session's open websockets.
- Behind the user's HTTPS proxy (DEEP_CLUSTERING_TRUSTED_PROXY names its address), the client's address and
  scheme are read from that proxy's X-Forwarded-For and X-Forwarded-Proto, and the cookie is marked Secure.

Only the request head is read: its body (an upload) and a websocket's frames are passed through as bytes.
A plain HTTP request goes upstream with ``Connection: close``, so every request on the client's side is a
new connection whose head is checked again.
"""
from __future__ import annotations

import asyncio
import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qs, quote, urlsplit

EDITOR, VIEWER = "editor", "viewer"
ACCESS_HEADER = "X-Deep-Clustering-Access"   # "<server secret> <role>", set by the gate only
COOKIE = "dc_session"
SIGN_IN, SIGN_OUT = "/-/signin", "/-/signout"
MAX_HEAD_BYTES = 32_768
MAX_FORM_BYTES = 4_096
UPLOAD_PATH = "/_stcore/upload_file"
HEALTH = "/_stcore/health"
UPSTREAM_WAIT_SECONDS = 60   # how long a request waits for Streamlit while the server starts
# The secret that says a request came through this process's gate (the app compares it; a client never sees it).
SERVER_SECRET = secrets.token_urlsafe(32)


@dataclass
class Limits:
    """How many password guesses the gate lets through, and how long a session lasts."""

    tries_per_address: int = 5        # wrong passwords from one address before it must wait
    first_wait_seconds: float = 30.0  # then it waits this long, doubled at each further wrong one...
    longest_wait_seconds: float = 900.0
    wrong_per_minute: int = 30        # wrong passwords from all addresses together, per minute
    wrong_answer_delay: float = 1.0   # a wrong password is answered after this long
    session_hours: float = 12.0       # a signed-in session ends this long after signing in


@dataclass
class _Address:
    wrong: int = 0
    until: float = 0.0


@dataclass
class _Session:
    role: str
    expires: float
    sockets: set = field(default_factory=set)


class Guard:
    """Passwords, guesses and sessions: the gate's decisions, apart from any network (tested alone)."""

    def __init__(self, editor_password: str, viewer_password: Optional[str] = None, *, limits: Limits = Limits(),
                 clock=time.monotonic):
        if not editor_password:
            raise ValueError("the gate needs the editor's password.")
        if viewer_password and hmac.compare_digest(viewer_password.encode(), editor_password.encode()):
            raise ValueError("the viewer's password must differ from the editor's.")
        self._passwords = [(editor_password.encode("utf-8"), EDITOR)]
        if viewer_password:
            self._passwords.append((viewer_password.encode("utf-8"), VIEWER))
        self.limits, self._clock = limits, clock
        self._addresses: dict[str, _Address] = {}
        self._recent_wrong: list[float] = []
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def wait_before_trying(self, address: str) -> float:
        """Seconds `address` must wait before its next guess (0 when it may guess now)."""
        now = self._clock()
        with self._lock:
            self._recent_wrong = [t for t in self._recent_wrong if now - t < 60]
            waits = [self._addresses.get(address, _Address()).until - now]
            if len(self._recent_wrong) >= self.limits.wrong_per_minute:
                waits.append(60 - (now - self._recent_wrong[0]))
        return max(0.0, *waits)

    def sign_in(self, address: str, given: str) -> Optional[str]:
        """A new session's token when `given` is a password (and `address` may guess now), else None."""
        if self.wait_before_trying(address) > 0:
            return None
        given_bytes = given.encode("utf-8", "replace")
        role = None
        for password, its_role in self._passwords:  # every password compared, in constant time
            if hmac.compare_digest(given_bytes, password) and role is None:
                role = its_role
        now = self._clock()
        with self._lock:
            if role is None:
                state = self._addresses.setdefault(address, _Address())
                state.wrong += 1
                self._recent_wrong.append(now)
                over = state.wrong - self.limits.tries_per_address
                if over >= 0:
                    state.until = now + min(self.limits.longest_wait_seconds, self.limits.first_wait_seconds * 2 ** over)
                if len(self._addresses) > 10_000:  # a flood of addresses: forget those not waiting
                    self._addresses = {a: s for a, s in self._addresses.items() if s.until > now}
                return None
            self._addresses.pop(address, None)
            token = secrets.token_urlsafe(32)
            self._sessions[token] = _Session(role, now + self.limits.session_hours * 3600)
            return token

    def role(self, token: Optional[str]) -> Optional[str]:
        """The role of the session `token` names; None when there is none or it has expired."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires <= self._clock():
                self._sessions.pop(token, None)
                return None
            return session.role

    def sign_out(self, token: Optional[str]) -> set:
        """End session `token`; returns its open connections (for the gate to close)."""
        with self._lock:
            session = self._sessions.pop(token or "", None)
        return session.sockets if session else set()

    def hold(self, token: str, connection) -> bool:
        """Count `connection` (an open websocket) as the session's, to close it when the session ends."""
        with self._lock:
            session = self._sessions.get(token)
            if session is not None:
                session.sockets.add(connection)
            return session is not None

    def release(self, token: str, connection) -> None:
        with self._lock:
            session = self._sessions.get(token)
            if session is not None:
                session.sockets.discard(connection)

    def expired_connections(self) -> set:
        """End every expired session; returns their open connections."""
        now = self._clock()
        with self._lock:
            ended = [t for t, s in self._sessions.items() if s.expires <= now]
            return {c for t in ended for c in self._sessions.pop(t).sockets}


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: list   # [(name, value)] as sent

    def header(self, name: str) -> Optional[str]:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def cookie(self, name: str) -> Optional[str]:
        for header in (v for k, v in self.headers if k.lower() == "cookie"):
            for part in header.split(";"):
                key, _, value = part.strip().partition("=")
                if key == name:
                    return value
        return None


class Gate:
    """The asyncio server: reads each connection's request head, answers it or passes it to Streamlit."""

    def __init__(self, guard: Guard, upstream_port: int, *, upstream_host: str = "127.0.0.1",
                 trusted_proxy: Optional[str] = None):
        self.guard, self.upstream, self.trusted_proxy = guard, (upstream_host, upstream_port), trusted_proxy

    def _client(self, request: _Request, writer) -> tuple[str, bool]:
        """(the client's address, whether it reached us over HTTPS). Behind the user's HTTPS proxy every
        connection comes from the proxy: its X-Forwarded-For (the address it appended last) and
        X-Forwarded-Proto are believed from that one address only."""
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        if self.trusted_proxy is None or peer != self.trusted_proxy:
            return peer, False
        forwarded = (request.header("X-Forwarded-For") or "").split(",")[-1].strip()
        return forwarded or peer, (request.header("X-Forwarded-Proto") or "").lower() == "https"

    async def serve(self, host: str, port: int) -> asyncio.AbstractServer:
        server = await asyncio.start_server(self._connection, host, port, limit=MAX_HEAD_BYTES)
        asyncio.get_running_loop().create_task(self._expire_sessions())
        return server

    async def _expire_sessions(self) -> None:
        while True:
            await asyncio.sleep(30)
            for writer in self.guard.expired_connections():
                writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(_read_head(reader), timeout=30)
            if request is None:
                return await _answer(writer, 400, "Bad request")
            await self._route(request, reader, writer)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except ValueError:  # a head over the limit
            await _answer(writer, 431, "Request header fields too large")
        finally:
            writer.close()

    async def _route(self, request: _Request, reader, writer) -> None:
        if request.path == SIGN_IN:
            return await self._sign_in(request, reader, writer, *self._client(request, writer))
        token = request.cookie(COOKIE)
        if request.path == SIGN_OUT:
            for connection in self.guard.sign_out(token):
                connection.close()
            return await _answer(writer, 303, "", [("Location", SIGN_IN), ("Set-Cookie", _cookie("", 0))])
        role = self.guard.role(token)
        if role is None and request.method == "GET" and request.path == HEALTH:
            return await self._pass(request, reader, writer, None, None)  # says only "ok": for load balancers
        if role is None:
            if request.method == "GET" and not request.path.startswith(("/_stcore/", "/static/", "/component/",
                                                                        "/media/", "/app/")):
                return await _answer(writer, 303, "", [("Location", f"{SIGN_IN}?next={quote(request.target)}")])
            return await _answer(writer, 401, "Sign in first.")
        if role == VIEWER and request.path.startswith(UPLOAD_PATH):
            return await _answer(writer, 403, "A viewer cannot upload.")
        await self._pass(request, reader, writer, token, role)

    async def _sign_in(self, request: _Request, reader, writer, address: str, secure: bool) -> None:
        query = parse_qs(urlsplit(request.target).query)
        after = _local_target((query.get("next") or ["/"])[0])
        if request.method != "POST":
            return await _answer(writer, 200, _sign_in_page(after, ""), content_type="text/html; charset=utf-8")
        length = request.header("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            return await _answer(writer, 413, "The form is too large.")
        form = parse_qs((await reader.readexactly(int(length))).decode("utf-8", "replace"))
        after = _local_target((form.get("next") or [after])[0])
        wait = self.guard.wait_before_trying(address)
        if wait > 0:
            message = f"Too many wrong passwords: try again in {int(wait) + 1} seconds."
            return await _answer(writer, 429, _sign_in_page(after, message), [("Retry-After", str(int(wait) + 1))],
                                 content_type="text/html; charset=utf-8")
        token = self.guard.sign_in(address, (form.get("password") or [""])[0])
        if token is None:
            await asyncio.sleep(self.guard.limits.wrong_answer_delay)
            return await _answer(writer, 401, _sign_in_page(after, "That password is not right."),
                                 content_type="text/html; charset=utf-8")
        max_age = int(self.guard.limits.session_hours * 3600)
        await _answer(writer, 303, "", [("Location", after), ("Set-Cookie", _cookie(token, max_age, secure))])

    async def _pass(self, request: _Request, reader, writer, token: str, role: str) -> None:
        deadline = time.monotonic() + UPSTREAM_WAIT_SECONDS
        while True:  # Streamlit may still be starting (the gate listens first): wait for it a while
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream, limit=2**20)
                break
            except OSError:
                if time.monotonic() > deadline:
                    return await _answer(writer, 502, "The app does not answer; see the server's console.")
                await asyncio.sleep(0.25)
        # Only a signed-in session's connection becomes a pipe (a websocket); any other request goes upstream
        # alone, without the headers that would keep its connection open for a next, unchecked request.
        upgrade = role is not None and (request.header("Upgrade") or "").lower() == "websocket"
        headers = [(k, v) for k, v in request.headers if k.lower() != ACCESS_HEADER.lower()
                   and (upgrade or k.lower() not in ("connection", "keep-alive", "upgrade"))]
        if role is not None:
            headers.append((ACCESS_HEADER, f"{SERVER_SECRET} {role}"))
        if not upgrade:
            headers.append(("Connection", "close"))
        head = f"{request.method} {request.target} {request.version}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        up_writer.write(head.encode("latin-1"))
        try:
            if upgrade and token is not None:
                self.guard.hold(token, writer)
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            else:
                length = request.header("Content-Length")
                if request.header("Transfer-Encoding"):
                    return await _answer(writer, 411, "Send the length of the body.")
                await _copy(reader, up_writer, int(length) if length and length.isdigit() else 0)
                await _pipe(up_reader, writer)
        finally:
            if token is not None:
                self.guard.release(token, writer)
            up_writer.close()


async def _read_head(reader: asyncio.StreamReader) -> Optional[_Request]:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise ValueError("head too large") from None
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return None
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        headers.append((name, value.strip()))
    return _Request(parts[0], parts[1], parts[2], headers)


async def _copy(reader, writer, length: int) -> None:
    while length > 0:
        chunk = await reader.read(min(length, 2**20))
        if not chunk:
            break
        writer.write(chunk)
        await writer.drain()
        length -= len(chunk)


async def _pipe(reader, writer) -> None:
    try:
        while chunk := await reader.read(2**20):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        if writer.can_write_eof():
            try:
                writer.write_eof()
            except (OSError, RuntimeError):
                pass


async def _answer(writer, status: int, body: str, headers=(), *, content_type: str = "text/plain; charset=utf-8"):
    reasons = {200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
               411: "Length Required", 413: "Payload Too Large", 429: "Too Many Requests",
               431: "Request Header Fields Too Large", 502: "Bad Gateway"}
    data = body.encode("utf-8")
    head = [f"HTTP/1.1 {status} {reasons.get(status, 'Error')}", f"Content-Type: {content_type}",
            f"Content-Length: {len(data)}", "Connection: close", "Cache-Control: no-store",
            "X-Frame-Options: DENY", "Referrer-Policy: same-origin", *(f"{k}: {v}" for k, v in headers)]
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()
    except ConnectionError:
        pass


def _cookie(token: str, max_age: int, secure: bool = False) -> str:
    return (f"{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


def _local_target(target: str) -> str:
    """`target` when it is an address on this server ("/explore?run=3"), else "/" (never another site)."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target \
            or parts.path.startswith(("/-/",)):
        return "/"
    return target


def _sign_in_page(after: str, message: str) -> str:
    shown = f'<p class="error">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Deep clustering explorer</title>
<style>body{{font-family:system-ui,sans-serif;display:flex;justify-content:center;margin-top:12vh;color:#262730}}
form{{width:22rem}}h1{{font-size:1.6rem}}input[type=password]{{width:100%;padding:.6rem;font-size:1rem;
box-sizing:border-box;border:1px solid #ccc;border-radius:.4rem}}button{{margin-top:1rem;padding:.5rem 1.4rem;
font-size:1rem;border-radius:.4rem;border:1px solid #ff4b4b;background:#ff4b4b;color:white;cursor:pointer}}
.error{{color:#b00020}}.note{{color:#666;font-size:.85rem}}</style></head>
<body><form method="post" action="{SIGN_IN}"><h1>Deep clustering explorer</h1>
<label for="password">Password</label><input id="password" name="password" type="password" autofocus
autocomplete="current-password" required><input type="hidden" name="next" value="{html.escape(after)}">
<button type="submit">Sign in</button>{shown}
<p class="note">This server is shared: ask the person who runs it for the password.</p></form></body></html>"""


def start_gate(guard: Guard, host: str, port: int, upstream_port: int, *,
               trusted_proxy: Optional[str] = None) -> threading.Thread:
    """Run the gate on `host`:`port` in a thread of its own (its own event loop), in front of Streamlit on
    the loopback `upstream_port`. Raises OSError at once when the address cannot be listened on."""
    started, failure = threading.Event(), []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(Gate(guard, upstream_port, trusted_proxy=trusted_proxy).serve(host, port))
        except OSError as error:
            failure.append(error)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="gate", daemon=True)
    thread.start()
    started.wait(10)
    if failure:
        raise failure[0]
    return thread
