"""Command line of the engine: ``python -m soilp_qgis <step> key=value ... | --params file.json``.

Each step is a function ``step(params: dict, report: Reporter) -> dict`` in ``soilp_qgis.steps``;
``STEPS`` maps the step's name to ``"module:function"`` so that only the step that runs is
imported (pymc is heavy; ``check`` must stay fast). Protocol lines go to stdout
(``soilp_qgis.protocol``); a failure prints one ``error`` line with the one-line reason, the
traceback on stderr, and exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from typing import Any, Callable

from .errors import SoilpError
from .lifeline import arm_from_environment
from .protocol import Reporter

STEPS: dict[str, str] = {
    "check": "soilp_qgis.steps.check:check",
    "synthetic_world": "soilp_qgis.steps.synthetic_world:synthetic_world",
    "copula_dependence": "soilp_qgis.steps.copula_dependence:copula_dependence",
    "bayesian_drivers": "soilp_qgis.steps.bayesian_drivers:bayesian_drivers",
    "lagged_dependence": "soilp_qgis.steps.lagged_dependence:lagged_dependence",
    "aggregate_time": "soilp_qgis.steps.aggregate_time:aggregate_time",
    "align_grid": "soilp_qgis.steps.align_grid:align_grid",
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
    return getattr(importlib.import_module(module_name), function_name)


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


def one_line(exc: BaseException) -> str:
    """The one-line reason shown to the user."""
    text = " ".join(str(exc).split())
    if isinstance(exc, SoilpError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m soilp_qgis",
        description="soilp engine: soil moisture–precipitation dependence, cell by cell.")
    parser.add_argument("step", help="engine step: " + ", ".join(sorted(STEPS)))
    parser.add_argument("params", nargs="*", help="step parameters as key=value")
    parser.add_argument("--params", dest="params_file", help="JSON file with the step parameters")
    args = parser.parse_args(argv)
    arm_from_environment()

    report = Reporter()
    try:
        step = load_step(args.step)
        params = parse_params(args.params, args.params_file)
        results = step(params, report) or {}
        report.progress(1.0)
        report.result(results)
        return 0
    except KeyboardInterrupt:
        report.error("cancelled")
        return 130
    except BaseException as exc:  # noqa: BLE001 - every failure becomes one protocol line
        if not isinstance(exc, SoilpError):
            traceback.print_exc(file=sys.stderr)
        report.error(one_line(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
