"""Finding and running the soilp engine out of process (plugin side; standard library only).

The engine is ``python -m soilp_qgis <step> --params file.json`` in its own interpreter. This
module finds that interpreter, starts it in its own process group, reads its protocol lines
(``@soilp {json}``) and hands them to callbacks, and ends the whole group on cancel. It knows
nothing of QGIS, so it is exercised by plain tests too; ``base.py`` connects it to Processing.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

PLUGIN_DIR = Path(__file__).resolve().parent.parent
#: run by any Python (standard library only): ends a helper program when this process ends
LIFELINE_SCRIPT = PLUGIN_DIR / "soilp_qgis" / "lifeline.py"
PROTOCOL_PREFIX = "@soilp "
ENV_VARIABLE = "SOILP_PYTHON"
SETTING_NAME = "SOILP_PYTHON"
DASK_SETTING_NAME = "SOILP_DASK_SCHEDULER"
#: seconds without a progress line after which the runner re-reports progress, so that callers
#: that only look at cancel when progress changes (qgis_process checks Ctrl+C then) stay responsive
HEARTBEAT_SECONDS = 0.5
#: the smallest change QgsFeedback passes on as progressChanged (it compares int(percent * 10))
HEARTBEAT_STEP = 0.15
#: file filter for interpreter parameters: QGIS's default "All files (*.*)" refuses names without
#: an extension, such as .venv/bin/python
INTERPRETER_FILTER = "All files (*)"
#: a library missing from the engine's interpreter, as Python says it, or as the CLI words it
_MISSING_MODULE = re.compile(r"(?:(?:ModuleNotFoundError|ImportError): No module named "
                             r"|environment \(.*\) lacks the library )'?([\w.]+)")


class EngineError(Exception):
    """The engine could not run the step; ``str()`` is the one-line reason for the user."""


class EngineNotFound(EngineError):  # noqa: N818 - public name used across the plugin
    """No usable engine interpreter."""


class EngineCancelled(EngineError):  # noqa: N818 - public name used across the plugin
    """The user cancelled the run."""


INSTALL_ALGORITHM = "soilp:installengine"


def install_hint() -> str:
    return (f"Run Processing › soilp › Setup › Install or update engine ({INSTALL_ALGORITHM}; "
            f"headless: qgis_process run {INSTALL_ALGORITHM}), then Check engine. It creates "
            f"{PLUGIN_DIR / '.venv'} with the libraries of "
            f"{PLUGIN_DIR / 'soilp_qgis' / 'requirements.txt'} and stores its python as the "
            f"provider's Engine Python setting (or set {ENV_VARIABLE} to such an interpreter).")


class EngineBroken(EngineNotFound):
    """The interpreter runs but lacks (or has too old) a library the engine needs."""


def broken_engine_message(python: str, reason: str) -> str:
    """The one line for an engine that failed on a missing library."""
    match = _MISSING_MODULE.search(reason)
    what = f"lacks the library '{match.group(1)}'" if match else f"is broken ({reason})"
    return f"The soilp engine '{python}' {what}. {install_hint()}"


def default_engine_python() -> Path:
    """The plugin's own environment: ``<plugin>/.venv``."""
    if sys.platform == "win32":
        return PLUGIN_DIR / ".venv" / "Scripts" / "python.exe"
    return PLUGIN_DIR / ".venv" / "bin" / "python"


def find_engine_python(setting_value: Optional[str] = None,
                       source: str = "the Processing setting 'Engine Python'") -> tuple[str, str]:
    """The engine interpreter and where it came from (setting, environment, plugin default).

    Order: ``setting_value`` (the Processing setting, or what ``source`` names), else
    ``SOILP_PYTHON``, else ``<plugin>/.venv``. Raises ``EngineNotFound`` naming the place that
    was tried and how to install the engine.
    """
    for value, origin in ((setting_value, source),
                          (os.environ.get(ENV_VARIABLE), f"the {ENV_VARIABLE} variable")):
        if value and value.strip():
            path = value.strip()
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise EngineNotFound(
                    f"The soilp engine interpreter '{path}' from {origin} does not exist or is "
                    f"not executable. {install_hint()}")
            return path, origin
    path = default_engine_python()
    if not path.is_file():
        raise EngineNotFound(f"The soilp engine is not installed (no {path}). {install_hint()}")
    return str(path), "the plugin's own environment"


def python_environment() -> dict[str, str]:
    """Environment for another Python than QGIS's: QGIS's own Python and GDAL/PROJ variables
    removed, so that interpreter and its libraries use their own."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONHOME", "PYTHONPATH", "GDAL_DATA", "PROJ_LIB", "PROJ_DATA",
                          "GDAL_DRIVER_PATH", "QGIS_PREFIX_PATH")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def engine_environment(dask_scheduler: Optional[str] = None) -> dict[str, str]:
    """Environment of the engine process: ``python_environment`` with the plugin folder on
    PYTHONPATH and the lifeline asked for."""
    env = python_environment()
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    env.setdefault("MPLBACKEND", "Agg")
    # soilp_qgis.lifeline: the engine ends with this process (its stdin pipe closes)
    env["SOILP_LIFELINE"] = "1"
    if dask_scheduler:
        env["SOILP_DASK_SCHEDULER"] = dask_scheduler
    return env


@dataclass
class EngineRun:
    """What one engine run produced."""

    results: dict[str, Any] = field(default_factory=dict)
    layers: list[dict[str, str]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    returncode: Optional[int] = None


@dataclass
class EngineCallbacks:
    """Where the protocol lines go (all optional)."""

    progress: Callable[[float], None] = lambda percent: None
    info: Callable[[str], None] = lambda text: None
    warning: Callable[[str], None] = lambda text: None
    debug: Callable[[str], None] = lambda text: None
    console: Callable[[str], None] = lambda text: None
    command: Callable[[str], None] = lambda text: None
    is_cancelled: Callable[[], bool] = lambda: False


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # stdin: a pipe this process never writes and keeps open while the engine runs; the engine
    # ends itself (and its workers) when it closes, i.e. when this process is gone
    kwargs: dict[str, Any] = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.PIPE, env=env, text=True,
                                  encoding="utf-8", errors="replace", bufsize=1)
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(
            subprocess, "CREATE_NO_WINDOW", 0)
    else:
        kwargs["start_new_session"] = True  # its own process group: cancel ends its workers too
    return subprocess.Popen(command, **kwargs)


def terminate_process_group(process: subprocess.Popen, grace_seconds: float = 5.0) -> None:
    """End the engine and every worker it started."""
    if process.poll() is not None:
        return
    if sys.platform == "win32":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
    else:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        pass


def _reader(stream, lines: "queue.Queue[Optional[str]]") -> None:
    for line in stream:
        lines.put(line.rstrip("\r\n"))
    lines.put(None)


def engine_command(python: str, step: str, params_file: str) -> list[str]:
    """The engine's command line for one step."""
    return [python, "-m", "soilp_qgis", step, "--params", params_file]


def command_line_for_humans(command: list[str]) -> str:
    """The command as one line a user can paste into a terminal to repeat the run by hand."""
    if sys.platform == "win32":
        return f'set "PYTHONPATH={PLUGIN_DIR}" && {subprocess.list2cmdline(command)}'
    return f"PYTHONPATH={shlex.quote(str(PLUGIN_DIR))} {shlex.join(command)}"


class _Heartbeat:
    """Re-reports the last progress, alternately nudged by ``HEARTBEAT_STEP``, whenever the engine
    has been quiet for ``HEARTBEAT_SECONDS``: QgsFeedback only signals changed progress, and
    qgis_process only looks at Ctrl+C when it gets such a signal."""

    def __init__(self, report: Callable[[float], None], seconds: Optional[float]):
        self._report = report
        self._seconds = seconds
        self.percent = 0.0
        self._last_time = time.monotonic()
        self._nudged = False

    def progress(self, percent: float) -> None:
        self.percent = percent
        self._nudged = False
        self._last_time = time.monotonic()
        self._report(percent)

    def beat(self) -> None:
        now = time.monotonic()
        if self._seconds is None or now - self._last_time < self._seconds:
            return
        self._last_time = now
        self._nudged = not self._nudged
        if not self._nudged:
            self._report(self.percent)
        elif self.percent >= HEARTBEAT_STEP:
            self._report(self.percent - HEARTBEAT_STEP)
        else:
            self._report(self.percent + HEARTBEAT_STEP)


def _pump(process: subprocess.Popen, handle_line: Callable[[str], None],
          callbacks: EngineCallbacks, heartbeat: "_Heartbeat") -> int:
    """Hand each output line of ``process`` to ``handle_line`` until it ends; end its process
    group and raise ``EngineCancelled`` when ``callbacks.is_cancelled()`` turns true. Returns
    the exit code."""
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    reader = threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        while True:
            if callbacks.is_cancelled():
                terminate_process_group(process)
                raise EngineCancelled("cancelled by the user; the engine was stopped")
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                heartbeat.beat()
                continue
            if line is None:
                return process.wait()
            handle_line(line)
    finally:
        if process.poll() is None:
            terminate_process_group(process)
        for stream in (process.stdout, process.stdin):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass


def with_lifeline(command: list[str]) -> list[str]:
    """``command`` run by its own Python under ``soilp_qgis/lifeline.py`` (standard library
    only), which ends it when this process goes away, as the engine's lifeline does."""
    return [command[0], str(LIFELINE_SCRIPT), "--", *command]


def run_command(command: list[str], env: dict[str, str], callbacks: EngineCallbacks,
                on_line: Callable[[str], None],
                heartbeat_seconds: Optional[float] = HEARTBEAT_SECONDS) -> int:
    """Run a Python helper program (``python -m venv``, ``python -m pip``; ``command[0]`` is the
    interpreter) in its own process group, each output line to ``on_line``; cancel ends the
    group (``EngineCancelled``), and so does this process's end (``with_lifeline``). Returns the
    exit code; raises ``EngineError`` when it cannot be started."""
    try:
        process = _start(with_lifeline(command), env)
    except OSError as exc:
        raise EngineError(f"could not start {command[0]} ({exc})") from exc
    return _pump(process, on_line, callbacks, _Heartbeat(callbacks.progress, heartbeat_seconds))


def run_step(python: str, step: str, params: dict[str, Any], params_file: str,
             callbacks: EngineCallbacks, dask_scheduler: Optional[str] = None,
             heartbeat_seconds: Optional[float] = HEARTBEAT_SECONDS) -> EngineRun:
    """Run one engine step to the end, relaying its protocol lines to ``callbacks``; while the
    engine is quiet, progress is re-reported every ``heartbeat_seconds`` (None: never).

    Raises ``EngineCancelled`` when ``callbacks.is_cancelled()`` turns true (the process group is
    ended first), ``EngineBroken`` with the install hint when the interpreter lacks a library the
    step needs, ``EngineError`` with the engine's one-line reason when the step fails, and
    ``EngineNotFound`` when the interpreter cannot start the engine at all.
    """
    with open(params_file, "w", encoding="utf-8") as handle:
        json.dump(params, handle, indent=1, default=str)
    command = engine_command(python, step, params_file)
    callbacks.command(command_line_for_humans(command))
    try:
        process = _start(command, engine_environment(dask_scheduler))
    except OSError as exc:
        raise EngineNotFound(f"The soilp engine '{python}' could not be started ({exc}). "
                             f"{install_hint()}") from exc

    run = EngineRun()
    heartbeat = _Heartbeat(callbacks.progress, heartbeat_seconds)
    state: dict[str, Any] = {"error": None, "saw_protocol": False}

    def handle(line: str) -> None:
        message = None
        if line.startswith(PROTOCOL_PREFIX):
            try:
                message = json.loads(line[len(PROTOCOL_PREFIX):])
            except ValueError:
                message = None
        if not isinstance(message, dict):
            run.log.append(line)
            callbacks.console(line)
            return
        state["saw_protocol"] = True
        if "progress" in message:
            heartbeat.progress(float(message["progress"]))
        elif "info" in message:
            callbacks.info(message["info"])
        elif "warning" in message:
            callbacks.warning(message["warning"])
        elif "debug" in message:
            callbacks.debug(message["debug"])
        elif "load" in message:
            run.layers.append(message["load"])
        elif "result" in message:
            run.results = message["result"]
        elif "error" in message:
            state["error"] = message["error"]

    run.returncode = _pump(process, handle, callbacks, heartbeat)
    tail = next((line for line in reversed(run.log) if line.strip()), "")
    error = state["error"]
    if error is not None:
        if _MISSING_MODULE.search(error):
            raise EngineBroken(broken_engine_message(python, error))
        raise EngineError(error)
    if run.returncode != 0:
        if not state["saw_protocol"]:
            raise EngineBroken(broken_engine_message(python, tail or f"exit code {run.returncode}"))
        raise EngineError(f"the engine stopped unexpectedly (exit code {run.returncode})"
                          + (f": {tail}" if tail else ""))
    return run
