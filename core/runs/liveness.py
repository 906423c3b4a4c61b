"""Whether the process that runs a run is still alive: heartbeats, process tokens, and the owners of the
partial folders a run's artifacts are written to (the store's recovery reads them)."""
from __future__ import annotations

import os
from pathlib import Path

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


def partial_owner(name: str) -> tuple:
    """(host, pid) of a partial folder ".partial-<id>-<host>-<pid>"; host None for the older
    ".partial-<id>-<pid>" of a single machine; pid -1 when unreadable."""
    parts = name[len(".partial-"):].split("-")
    try:
        pid = int(parts[-1])
    except ValueError:
        return None, -1
    return ("-".join(parts[1:-1]) or None), pid


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
