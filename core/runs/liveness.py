"""Whether the process that runs a run is still alive: heartbeats, process tokens, and the owners of the
partial folders a run's artifacts are written to (the store's recovery reads them)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

HEARTBEAT_SECONDS = 15.0   # a running run's process touches its record this often
STALE_SECONDS = 180.0      # a running run not touched for this long is taken as interrupted


def process_token(pid: int) -> str:
    """Something about process `pid` that a later process with the same id will not share: its start time
    since boot, with the boot's id (Linux). "" where the system does not tell."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, starttime; the name may hold spaces
    except (OSError, IndexError, ValueError):
        return ""


def safe_host(host: str) -> str:
    """`host` as a part of a file name: letters, digits and dots only (never "-", which parts the name)."""
    return re.sub(r"[^A-Za-z0-9.]", "_", host) or "host"


def partial_name(key: str, host: str, pid: Optional[int] = None) -> str:
    """The folder that `key`'s files are written to before they are renamed into place, by process `pid`
    (this one) on `host`: ".partial-<key>-<host>-<pid>". The one writer of these names; `partial_owner`
    reads them. `key` may not hold "-": an import's key is "import" and a random hex, joined."""
    if "-" in str(key) or not str(key):
        raise ValueError(f"a partial folder's key may not be empty or hold '-': {key!r}")
    return f".partial-{key}-{safe_host(host)}-{os.getpid() if pid is None else int(pid)}"


def partial_owner(name: str) -> tuple:
    """(host, pid) of a partial folder named by `partial_name`; host None for the older ".partial-<id>-<pid>"
    of a single machine; (None, -1) for a name neither writes, whose owner is unknown (never removed)."""
    parts = name[len(".partial-"):].split("-")
    try:
        pid = int(parts[-1])
    except ValueError:
        return None, -1
    if len(parts) == 2 and parts[0].isdigit():
        return None, pid  # ".partial-<id>-<pid>", before hosts were named
    if len(parts) < 3:
        return None, -1
    return "-".join(parts[1:-1]), pid


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
