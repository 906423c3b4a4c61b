"""Who may use this server: localhost by default; beyond it only with a password the user set.

The password is a secret: ``password = "..."`` in ``.streamlit/secrets.toml``, or the environment
variable ``DEEP_CLUSTERING_PASSWORD``. When one is set, every session must give it before any page
renders. A server listening beyond localhost without one shows nothing but how to set one.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import time
from typing import Optional

import streamlit as st

from ui.gate import ACCESS_HEADER, EDITOR, SERVER_SECRET, VIEWER

PASSWORD_ENV = "DEEP_CLUSTERING_PASSWORD"
VIEWER_PASSWORD_ENV = "DEEP_CLUSTERING_VIEWER_PASSWORD"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_AUTHENTICATED = "access_granted"


def is_loopback(address: Optional[str]) -> bool:
    """Whether the server address only accepts connections from this machine (unset means every interface)."""
    if not address:
        return False
    address = address.strip().strip("[]").lower()
    if address in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def configured_password(env: str = PASSWORD_ENV, secret: str = "password") -> Optional[str]:
    """The password the user set, from the environment or Streamlit's secrets; None when there is none."""
    password = os.environ.get(env)
    if not password:
        try:
            password = st.secrets.get(secret)
        except Exception:  # no secrets.toml, or an unreadable one: no password set
            password = None
    return str(password) if password else None


def configured_viewer_password() -> Optional[str]:
    """The viewer's password (looks, explores, downloads; changes nothing), when the user set one."""
    return configured_password(VIEWER_PASSWORD_ENV, "viewer_password")


def gate_role() -> Optional[str]:
    """"editor" or "viewer" when this session came through the gate (ui.gate) of this server process, which
    says which password was given; None otherwise. The gate's header carries a secret only this process
    knows: a header a client wrote itself is dropped by the gate, and one sent straight to Streamlit lacks it."""
    try:
        value = st.context.headers.get(ACCESS_HEADER) or ""
    except Exception:  # no request context (AppTest, a script run outside a server)
        return None
    secret, _, role = value.partition(" ")
    if secret and hmac.compare_digest(secret.encode(), SERVER_SECRET.encode()) and role in (EDITOR, VIEWER):
        return role
    return None


def can_edit() -> bool:
    """Whether this session may change anything (train, delete, rename, import, save corrections): every
    session but one signed in with the viewer's password."""
    return gate_role() != VIEWER


def password_matches(given: str, password: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), password.encode("utf-8"))


def access_granted() -> bool:
    """Whether this session may see the app: it came through the gate (which let it in with a password),
    or on localhost with no password set, or after giving it on the password page (a server started
    without the gate, e.g. ``streamlit run app.py``)."""
    if gate_role() is not None:
        return True
    if configured_password() is None:
        return is_loopback(st.get_option("server.address"))
    return bool(st.session_state.get(_AUTHENTICATED))


def access_page() -> None:
    """The one page a session sees until it may see the others: a password box, or why there is none."""
    password = configured_password()
    st.title("Deep clustering explorer")
    if password is None:
        st.error("This server listens beyond this computer but no password is set, so it shows nothing. "
                 f"Set one (the {PASSWORD_ENV} environment variable, or password in .streamlit/secrets.toml) "
                 "and restart it, or run it on localhost (see the README, Sharing on a network).",
                 icon=":material/lock:")
        return
    with st.form("access_form"):
        given = st.text_input("Password", type="password")
        entered = st.form_submit_button("Open")
    if entered:
        if password_matches(given, password):
            st.session_state[_AUTHENTICATED] = True
            st.rerun()
        time.sleep(1.0)  # slows guessing
        st.error("That password is not right.", icon=":material/lock:")
