"""The engine ends when the program that started it goes away, on every platform.

The plugin starts the engine in a process group (session) of its own, so that cancel can end the
engine and its workers together; the flip side is that a closed terminal or a killed QGIS does not
reach them. The plugin gives the engine a stdin pipe it never writes and keeps open for the run;
when the plugin's process ends, however it ends, the operating system closes the pipe, a daemon
thread here reads EOF and ends the engine's whole process group (SIGTERM, which the CLI turns
into an orderly stop, then SIGKILL for whatever is left). On Linux the engine and its workers
also ask the kernel for SIGTERM when their parent dies (``cli._die_with_parent``,
``blocks._die_with_parent``), which works even when no Python thread gets to run.

The plugin asks for the lifeline with ``SOILP_LIFELINE=1``; an engine started by hand from a
terminal is left alone.

Programs that are not the engine (``python -m venv``, ``pip install`` when the plugin installs the
engine) get the same lifeline by running under this file as a script, standard library only, so
any Python ≥ 3.10 runs it before the engine's libraries exist::

    python lifeline.py -- pip install -r requirements.txt

It starts the program in its own process group, watches its own stdin, and exits with the
program's exit code; when stdin closes it ends the group, the program included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

ENV_FLAG = "SOILP_LIFELINE"
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


def arm_from_environment(environ: dict | None = None) -> bool:
    """Watch stdin when the plugin asked for it (``SOILP_LIFELINE=1``); True if armed."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_FLAG) != "1":
        return False
    watch_pipe(0, end_process_group)
    return True


def run_with_lifeline(command: list[str]) -> int:
    """Run ``command`` (stdout and stderr inherited, stdin empty) in this process's group, ending
    the group when this process's stdin closes; returns the command's exit code."""
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    watch_pipe(0, end_process_group)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        return child.wait()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--":
        print("usage: python lifeline.py -- PROGRAM [ARGUMENTS...]", file=sys.stderr)
        return 2
    try:
        return run_with_lifeline(argv[1:])
    except OSError as exc:
        print(f"could not start {argv[1]} ({exc.strerror or exc})", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
