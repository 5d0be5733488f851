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
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

PLUGIN_DIR = Path(__file__).resolve().parent.parent
PROTOCOL_PREFIX = "@soilp "
ENV_VARIABLE = "SOILP_PYTHON"
SETTING_NAME = "SOILP_PYTHON"
DASK_SETTING_NAME = "SOILP_DASK_SCHEDULER"


class EngineError(Exception):
    """The engine could not run the step; ``str()`` is the one-line reason for the user."""


class EngineNotFound(EngineError):
    """No usable engine interpreter."""


class EngineCancelled(EngineError):
    """The user cancelled the run."""


def install_hint() -> str:
    return (f"Install the engine with 'make env' in the plugin folder ({PLUGIN_DIR}), or create a "
            f"Python 3.10+ environment, run 'pip install -r "
            f"{PLUGIN_DIR / 'soilp_qgis' / 'requirements.txt'}' in it, and set its python in "
            f"Processing › Options › Providers › Soil moisture–precipitation dependence › "
            f"Engine Python, or in the {ENV_VARIABLE} environment variable.")


def default_engine_python() -> Path:
    """The plugin's own environment: ``<plugin>/.venv``."""
    if sys.platform == "win32":
        return PLUGIN_DIR / ".venv" / "Scripts" / "python.exe"
    return PLUGIN_DIR / ".venv" / "bin" / "python"


def find_engine_python(setting_value: Optional[str] = None) -> tuple[str, str]:
    """The engine interpreter and where it came from (setting, environment, plugin default).

    Order: the Processing setting, else ``SOILP_PYTHON``, else ``<plugin>/.venv``. Raises
    ``EngineNotFound`` naming the place that was tried and how to install the engine.
    """
    for value, source in ((setting_value, "the Processing setting 'Engine Python'"),
                          (os.environ.get(ENV_VARIABLE), f"the {ENV_VARIABLE} variable")):
        if value and value.strip():
            path = value.strip()
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise EngineNotFound(
                    f"The soilp engine interpreter '{path}' from {source} does not exist or is "
                    f"not executable. {install_hint()}")
            return path, source
    path = default_engine_python()
    if not path.is_file():
        raise EngineNotFound(f"The soilp engine is not installed (no {path}). {install_hint()}")
    return str(path), "the plugin's own environment"


def engine_environment(dask_scheduler: Optional[str] = None) -> dict[str, str]:
    """Environment of the engine process: the plugin folder on PYTHONPATH, QGIS's own
    Python and GDAL/PROJ variables removed so the engine's libraries use their own data."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONHOME", "PYTHONPATH", "GDAL_DATA", "PROJ_LIB", "PROJ_DATA",
                          "GDAL_DRIVER_PATH", "QGIS_PREFIX_PATH")}
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.setdefault("MPLBACKEND", "Agg")
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
    console: Callable[[str], None] = lambda text: None
    is_cancelled: Callable[[], bool] = lambda: False


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    kwargs: dict[str, Any] = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, text=True,
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


def run_step(python: str, step: str, params: dict[str, Any], params_file: str,
             callbacks: EngineCallbacks, dask_scheduler: Optional[str] = None) -> EngineRun:
    """Run one engine step to the end, relaying its protocol lines to ``callbacks``.

    Raises ``EngineCancelled`` when ``callbacks.is_cancelled()`` turns true (the process group is
    ended first), ``EngineError`` with the engine's one-line reason when the step fails, and a
    reason plus install hint when the interpreter cannot start the engine at all.
    """
    with open(params_file, "w", encoding="utf-8") as handle:
        json.dump(params, handle, indent=1, default=str)
    command = [python, "-m", "soilp_qgis", step, "--params", params_file]
    try:
        process = _start(command, engine_environment(dask_scheduler))
    except OSError as exc:
        raise EngineNotFound(f"The soilp engine '{python}' could not be started ({exc}). "
                             f"{install_hint()}") from exc

    run = EngineRun()
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    reader = threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True)
    reader.start()
    error: Optional[str] = None
    saw_protocol = False
    finished = False
    try:
        while not finished:
            if callbacks.is_cancelled():
                terminate_process_group(process)
                raise EngineCancelled("cancelled by the user; the engine was stopped")
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                finished = True
                continue
            if not line.startswith(PROTOCOL_PREFIX):
                run.log.append(line)
                callbacks.console(line)
                continue
            try:
                message = json.loads(line[len(PROTOCOL_PREFIX):])
            except ValueError:
                run.log.append(line)
                callbacks.console(line)
                continue
            saw_protocol = True
            if "progress" in message:
                callbacks.progress(float(message["progress"]))
            elif "info" in message:
                callbacks.info(message["info"])
            elif "warning" in message:
                callbacks.warning(message["warning"])
            elif "load" in message:
                run.layers.append(message["load"])
            elif "result" in message:
                run.results = message["result"]
            elif "error" in message:
                error = message["error"]
        run.returncode = process.wait()
    finally:
        if process.poll() is None:
            terminate_process_group(process)
        if process.stdout:
            process.stdout.close()
    if error is not None:
        raise EngineError(error)
    if run.returncode != 0:
        tail = next((line for line in reversed(run.log) if line.strip()), "")
        if not saw_protocol:
            raise EngineNotFound(
                f"The soilp engine '{python}' is broken: it could not run "
                f"({tail or f'exit code {run.returncode}'}). {install_hint()}")
        raise EngineError(f"the engine stopped unexpectedly (exit code {run.returncode})"
                          + (f": {tail}" if tail else ""))
    return run
