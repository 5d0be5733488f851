"""Command line of the engine: ``python -m soilp_qgis <step> key=value ... | --params file.json``,
and ``python -m soilp_qgis describe [<step> ...]`` (each step's parameters and outputs as JSON).

Each step is a function ``step(params: dict, report: Reporter) -> dict`` in ``soilp_qgis.steps``;
``STEPS`` maps the step's name to ``"module:function"`` so that only the step that runs is
imported (pymc is heavy; ``check`` must stay fast). Protocol lines go to stdout
(``soilp_qgis.protocol``); a failure prints one ``error`` line with the one-line reason, the
traceback on stderr (not for errors meant for the user: ``SoilpError``, and file-system errors
such as a full disk or a read-only folder), and exits 1; SIGINT and SIGTERM cancel the run (its
outputs are not written; exit 130 or 143). GDAL writes no ``.aux.xml`` beside inputs
(``GDAL_PAM_ENABLED=NO``) and its messages reach the log as ``debug`` lines, not the user.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from .errors import SoilpError
from .lifeline import arm_from_environment
from .protocol import Reporter

os.environ.setdefault("GDAL_PAM_ENABLED", "NO")  # before GDAL starts, inherited by the workers

STEPS: dict[str, str] = {
    "check": "soilp_qgis.steps.check:check",
    "synthetic_world": "soilp_qgis.steps.synthetic_world:synthetic_world",
    "copula_dependence": "soilp_qgis.steps.copula_dependence:copula_dependence",
    "bayesian_drivers": "soilp_qgis.steps.bayesian_drivers:bayesian_drivers",
    "bayesian_drivers_layers": "soilp_qgis.steps.bayesian_drivers_layers:bayesian_drivers_layers",
    "lagged_dependence": "soilp_qgis.steps.lagged_dependence:lagged_dependence",
    "aggregate_time": "soilp_qgis.steps.aggregate_time:aggregate_time",
    "align_grid": "soilp_qgis.steps.align_grid:align_grid",
    "import_stack": "soilp_qgis.steps.import_stack:import_stack",
    "rasterize_ecoregions": "soilp_qgis.steps.rasterize_ecoregions:rasterize_ecoregions",
    "ecoregion_series": "soilp_qgis.steps.ecoregion_series:ecoregion_series",
    "ridge_control": "soilp_qgis.steps.ridge_control:ridge_control",
    "report": "soilp_qgis.steps.report:report",
    "provenance": "soilp_qgis.steps.report:provenance",
}


def load_step(name: str) -> Callable[[dict, Reporter], dict]:
    """The function behind step ``name``."""
    try:
        target = STEPS[name]
    except KeyError:
        raise SoilpError(
            f"unknown engine step {name!r}; known steps: {', '.join(sorted(STEPS))}") from None
    module_name, function_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if not exc.name or exc.name.split(".")[0] == "soilp_qgis":
            raise
        raise SoilpError(f"the engine's environment ({sys.executable}) lacks the library "
                         f"{exc.name!r}: reinstall it with pip install -r requirements.txt "
                         f"(the file beside the engine's sources)") from exc
    return getattr(module, function_name)


def _parse_value(text: str) -> Any:
    """``key=value`` values: JSON where it parses (numbers, true/false, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(pairs: list[str], params_file: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if params_file:
        with open(params_file, encoding="utf-8") as handle:
            params.update(json.load(handle))
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SoilpError(f"engine arguments are key=value pairs; got {pair!r}")
        params[key.strip().lower()] = _parse_value(value)
    return params


def is_user_error(exc: BaseException) -> bool:
    """Errors the user can act on, shown without a traceback: ``SoilpError`` and file-system
    errors naming a file (disk full, permission denied, read-only folder, file not found)."""
    return isinstance(exc, SoilpError) or (
        isinstance(exc, OSError) and exc.filename is not None and exc.strerror is not None)


def one_line(exc: BaseException) -> str:
    """The one-line reason shown to the user."""
    if isinstance(exc, OSError) and is_user_error(exc) and not isinstance(exc, SoilpError):
        return f"{exc.filename}: {exc.strerror}"
    text = " ".join(str(exc).split())
    if isinstance(exc, SoilpError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the run unwinds (workers ended, nothing
    half-written left) like on Ctrl+C."""


def _terminate(signum, frame) -> None:
    raise Terminated()


class DebugLogHandler(logging.Handler):
    """Python log records (rasterio's GDAL messages among them) as ``debug`` protocol lines."""

    def __init__(self, report: Reporter):
        super().__init__(level=logging.DEBUG)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.report.debug(f"{record.name}: {record.getMessage()}")
        except Exception:  # noqa: BLE001 - logging must never break the run
            pass


def _route_logging(report: Reporter) -> None:
    """Warnings and errors logged by libraries (GDAL through rasterio) go to the log at debug
    level: the step reports what failed in its own words."""
    root = logging.getLogger()
    root.addHandler(DebugLogHandler(report))
    root.setLevel(logging.WARNING)
    logging.getLogger("rasterio").setLevel(logging.WARNING)


def _die_with_parent() -> None:
    """Linux: the engine gets SIGTERM when the process that started it (QGIS, qgis_process) ends;
    if that already happened, it stops now."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            return
        if os.getppid() != parent:  # pragma: no cover - the parent went while we started
            raise Terminated()


def describe_steps(names: list[str]) -> dict[str, Any]:
    """Each step's contract (``contract.describe``): parameters and outputs."""
    from .contract import describe

    described = {}
    for name in names or sorted(STEPS):
        step = load_step(name)
        parameters = getattr(step, "parameters", None)
        described[name] = (describe(parameters, getattr(step, "outputs", ()))
                           if parameters is not None
                           else {"step": name, "parameters": [], "outputs": []})
    return described


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m soilp_qgis",
        description="soilp engine: soil moisture–precipitation dependence, cell by cell.")
    parser.add_argument("step", help="engine step: " + ", ".join(sorted(STEPS))
                        + "; or 'describe [step ...]' for their parameters and outputs")
    parser.add_argument("params", nargs="*", help="step parameters as key=value")
    parser.add_argument("--params", dest="params_file", help="JSON file with the step parameters")
    args = parser.parse_args(argv)
    arm_from_environment()

    if args.step == "describe":
        try:
            described = describe_steps(args.params)
        except SoilpError as exc:
            print(one_line(exc), file=sys.stderr)
            return 1
        single: dict | None = described[args.params[0]] if len(args.params) == 1 else None
        print(json.dumps(single or described, indent=1, ensure_ascii=False, default=str))
        return 0

    report = Reporter()
    previous_handler = signal.signal(signal.SIGTERM, _terminate)
    _route_logging(report)
    try:
        _die_with_parent()
        step = load_step(args.step)
        params = parse_params(args.params, args.params_file)
        results = step(params, report) or {}
        report.progress(1.0)
        report.result(results)
        return 0
    except KeyboardInterrupt as exc:
        report.error("cancelled")
        return 143 if isinstance(exc, Terminated) else 130
    except BaseException as exc:  # noqa: BLE001 - every failure becomes one protocol line
        if not is_user_error(exc):
            traceback.print_exc(file=sys.stderr)
        report.error(one_line(exc))
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


if __name__ == "__main__":
    sys.exit(main())
