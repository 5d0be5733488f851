"""The engine ends when the program that started it goes away.

The plugin starts the engine in a process group (session) of its own, so that cancel can end the
engine and its workers together; the flip side is that a closed terminal or a killed QGIS does not
reach them. Two lifelines tie the engine to its parent; both end the engine's whole process group:

- **a pipe on stdin** (every platform): the plugin gives the engine a stdin pipe it never writes
  and keeps open for the run. When the plugin's process ends, however it ends, the operating
  system closes the pipe, a daemon thread here reads EOF and ends the group;
- **a parent-death signal** (Linux): ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, so the kernel sends the
  engine SIGTERM when its parent dies, even if no Python thread gets to run; the SIGTERM handler
  passes it on to the group.

The plugin asks for the lifelines with ``SOILP_LIFELINE=1`` (and its pid in
``SOILP_PARENT_PID``); an engine started by hand from a terminal is left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

ENV_FLAG = "SOILP_LIFELINE"
ENV_PARENT = "SOILP_PARENT_PID"
PR_SET_PDEATHSIG = 1
#: seconds between the SIGTERM to the group and the SIGKILL for whatever is left
KILL_GRACE_SECONDS = 3.0


def owns_process_group() -> bool:
    """Whether this process leads its own process group (the plugin starts it so); only then may
    the lifeline end the whole group without touching anyone else."""
    return sys.platform != "win32" and os.getpgrp() == os.getpid()


def end_process_group() -> None:
    """End this process and every worker it started: SIGTERM to the group, SIGKILL after a grace
    period (Windows: ``taskkill /T`` on this process tree)."""
    if sys.platform == "win32":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(os.getpid())],
                       capture_output=True, check=False)
        os._exit(1)
    if not owns_process_group():
        os._exit(1)
    group = os.getpgrp()
    os.killpg(group, signal.SIGTERM)
    time.sleep(KILL_GRACE_SECONDS)
    os.killpg(group, signal.SIGKILL)


def _on_sigterm(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    """SIGTERM (from the kernel when the parent died, or from the plugin's cancel): pass it on to
    the whole group, then die of it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.killpg(os.getpgrp(), signal.SIGTERM)


def set_parent_death_signal(signum: int = signal.SIGTERM) -> bool:
    """Linux: have the kernel send ``signum`` to this process when its parent ends. False where
    the platform has no such thing."""
    if not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
    except OSError:
        return False
    return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def watch_pipe(fd: int, on_eof: Callable[[], None]) -> threading.Thread:
    """Read file descriptor ``fd`` to its end in a daemon thread, then call ``on_eof``.

    Reads the raw descriptor (``os.read``), not ``sys.stdin``: a daemon thread blocked inside
    the buffered ``sys.stdin`` holds its lock, and Python aborts at exit when it cannot take it.
    """
    def watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        on_eof()

    thread = threading.Thread(target=watch, name="soilp-lifeline", daemon=True)
    thread.start()
    return thread


def arm_from_environment(environ: Optional[dict] = None) -> bool:
    """Arm the lifelines when the plugin asked for them (``SOILP_LIFELINE=1``); True if armed."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_FLAG) != "1":
        return False
    if owns_process_group():
        signal.signal(signal.SIGTERM, _on_sigterm)
        set_parent_death_signal(signal.SIGTERM)
        parent = environ.get(ENV_PARENT, "")
        if parent.isdigit() and os.getppid() != int(parent):
            end_process_group()  # the parent died before the signal was armed
    watch_pipe(0, end_process_group)
    return True
