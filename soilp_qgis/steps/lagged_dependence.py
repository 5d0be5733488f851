"""``lagged_dependence``: Kendall's τ between precipitation at t and soil moisture at t + k."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import contract, styles
from ..blocks import BlockExecutor, OutputSpec
from ..contract import RasterOutput, StepParameters
from ..errors import InputError
from ..lags import lagged_dependence as lagged_dependence_of_block
from ..protocol import Reporter
from ..tables import STATUS_NODATA, status_code
from .common import (
    block_inputs,
    min_observations_parameter,
    open_stacks,
    processes,
    processes_parameter,
)
from .outputs import StepOutputs, engine_step, require_computed

LAG_NODATA = 255


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``lagged_dependence`` (soilp:laggeddependence)."""

    STEP = "lagged_dependence"

    precipitation: str = contract.stack()
    soil_moisture: str = contract.stack()
    max_lag: int = contract.integer(12, minimum=0, maximum=120)
    min_observations: int = min_observations_parameter(15)
    processes: int = processes_parameter()
    output_tau_by_lag: str | None = contract.raster_output()
    output_optimal_lag: str | None = contract.raster_output()
    output_tau_at_optimal_lag: str | None = contract.raster_output()
    output_status: str | None = contract.raster_output()


def lag_bands(context: Mapping[str, Any]) -> list[str]:
    """tau at lag k (unit steps), k = 0…MAX_LAG"""
    return [f"tau at lag {k} ({context['unit']} steps)" for k in range(context["max_lag"] + 1)]


def lag_style(context: Mapping[str, Any]) -> str:
    """lag (paletted 0…MAX_LAG)"""
    return styles.lag_style(context["max_lag"])


OUTPUTS = (
    RasterOutput("output_tau_by_lag", "tau_by_lag", bands=lag_bands, style="tau"),
    RasterOutput("output_optimal_lag", "optimal_lag", "uint8", LAG_NODATA, ["optimal lag"],
                 style=lag_style),
    RasterOutput("output_tau_at_optimal_lag", "tau_at_optimal_lag", bands=["tau at optimal lag"],
                 style="tau"),
    RasterOutput("output_status", "status", "uint8", STATUS_NODATA, ["status"], style="status"),
)


@dataclass(frozen=True)
class LaggedDependenceBlock:
    """Block function: per-cell τ by lag, optimal lag, τ there, status."""

    max_lag: int
    min_observations: int

    def __call__(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = lagged_dependence_of_block(blocks["precipitation"], blocks["soil_moisture"],
                                            self.max_lag, self.min_observations)
        fitted = result.status == 0
        return {
            "tau_by_lag": np.where(fitted[:, None], result.tau_by_lag, np.nan),
            "optimal_lag": np.where(fitted, result.optimal_lag, np.nan),
            "tau_at_optimal_lag": np.where(fitted, result.tau_at_optimal_lag, np.nan),
            "status": result.status,
        }


@engine_step(Parameters, OUTPUTS)
def lagged_dependence(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    infos = open_stacks(p, ["precipitation", "soil_moisture"])
    grid = infos["precipitation"].grid
    steps = infos["precipitation"].count
    if not p.max_lag < steps - 1:
        raise InputError(f"MAX_LAG {p.max_lag} leaves no pairs: the stacks have {steps} time "
                         f"steps")
    report.info(f"τ-b of precipitation(t) and soil moisture(t+k), k = 0…{p.max_lag}, "
                f"on {grid.width}×{grid.height} cells × {steps} steps")
    specs = {"tau_by_lag": OutputSpec(bands=p.max_lag + 1),
             "optimal_lag": OutputSpec(), "tau_at_optimal_lag": OutputSpec(),
             "status": OutputSpec(dtype="uint8", fill=status_code("no_data"))}
    inputs = block_inputs(infos, min_observations=p.min_observations)
    arrays = BlockExecutor(processes(p)).run(
        LaggedDependenceBlock(p.max_lag, p.min_observations), inputs, specs, report.sub(0.0, 0.95))
    status = arrays["status"][0]
    fitted = require_computed(status)

    unit = infos["precipitation"].time_scale.removesuffix("ly").replace("dai", "day")
    results = outputs.rasters(arrays, grid, {"unit": unit})
    lag = arrays["optimal_lag"][0]
    if fitted:
        counts = np.bincount(lag[status == 0].astype(int), minlength=p.max_lag + 1)
        report.info(f"{fitted} cells with a τ; most common optimal lag {int(counts.argmax())} "
                    f"({counts.max() / fitted:.0%} of them)")
    results["FITTED_CELLS"] = fitted
    return results
