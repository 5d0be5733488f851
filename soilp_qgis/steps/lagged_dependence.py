"""``lagged_dependence``: Kendall's τ between precipitation at t and soil moisture at t + k; whether
the τ at the optimal lag is significant, and how stable the optimal lag is under a moving-block
bootstrap.

Significance: the Kendall p-value at the optimal lag is multiplied by the number of lags searched
(Bonferroni: the optimal lag is the best of MAX_LAG + 1 tests), then Benjamini–Hochberg at 2 α
runs over the map (``significance``). Stability: the share of bootstrap replicates whose optimal
lag is the cell's (``bootstrap.resampled_optimal_lags``: pairs (P_t, SM_{t+k}) resampled by their
origin t, in the same time blocks for every cell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import contract, styles
from ..blocks import BlockExecutor, OutputSpec
from ..bootstrap import resampled_optimal_lags
from ..contract import RasterOutput, StepParameters
from ..errors import InputError
from ..kendall import kendall_tau_b
from ..lags import lagged_dependence as lagged_dependence_of_block
from ..protocol import Reporter
from ..significance import SIGNIFICANCE_NODATA, significance_map
from ..tables import STATUS_NODATA, status_code
from .common import (
    block_inputs,
    min_observations_parameter,
    open_stacks,
    processes,
    processes_parameter,
)
from .outputs import StepOutputs, engine_step, require_computed
from .uncertainty import (
    SIGNIFICANCE_BAND,
    SIGNIFICANCE_DTYPE,
    alpha_parameter,
    block_length_parameter,
    bootstrap_counts,
    replicates_parameter,
    seed_parameter,
    settings_line,
    significance_style,
)

LAG_NODATA = 255
#: default BOOTSTRAP_REPLICATES (each replicate costs MAX_LAG + 1 resampled τ per cell)
REPLICATES = 100
#: a worker process only for this many cells or more. Measured through the engine CLI, 240
#: monthly steps, MAX_LAG=12: the demo's 8,100 cells 8.6 s in this process, 9.0 s (and twice the
#: CPU) with two workers; 32,400 cells 26.6 s in this process, 17.6 s with two workers
LAG_CELLS_PER_PROCESS = 10_000


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``lagged_dependence`` (soilp:laggeddependence)."""

    STEP = "lagged_dependence"

    precipitation: str = contract.stack()
    soil_moisture: str = contract.stack()
    max_lag: int = contract.integer(12, minimum=0, maximum=120)
    min_observations: int = min_observations_parameter(15)
    processes: int = processes_parameter()
    alpha: float = alpha_parameter()
    bootstrap_replicates: int = replicates_parameter(REPLICATES)
    block_length: int = block_length_parameter()
    seed: int = seed_parameter()
    output_tau_by_lag: str | None = contract.raster_output()
    output_optimal_lag: str | None = contract.raster_output()
    output_tau_at_optimal_lag: str | None = contract.raster_output()
    output_status: str | None = contract.raster_output()
    output_significance: str | None = contract.raster_output()
    output_lag_stability: str | None = contract.raster_output()


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
    RasterOutput("output_significance", "significance", SIGNIFICANCE_DTYPE, SIGNIFICANCE_NODATA,
                 [SIGNIFICANCE_BAND + " at the optimal lag"], style=significance_style),
    RasterOutput("output_lag_stability", "lag_stability",
                 bands=["share of bootstrap replicates with the same optimal lag"],
                 style="weight"),
)


def p_value_at_lag(precipitation: np.ndarray, soil_moisture: np.ndarray,
                   lag: np.ndarray) -> np.ndarray:
    """Per cell, Kendall's two-sided p-value of precipitation(t) vs soil moisture(t + lag)
    (NaN where ``lag`` is NaN)."""
    p_value = np.full(lag.shape, np.nan)
    steps = precipitation.shape[1]
    for k in np.unique(lag[np.isfinite(lag)]).astype(int):
        cells = lag == k
        p_value[cells] = kendall_tau_b(precipitation[cells, :steps - k],
                                       soil_moisture[cells, k:]).p_value
    return p_value


@dataclass(frozen=True)
class LaggedDependenceBlock:
    """Block function: per-cell τ by lag, optimal lag, τ there, status; the Kendall p-value
    at the optimal lag times the lags searched; the share of bootstrap replicates (``counts``,
    the same for every block) with the same optimal lag."""

    max_lag: int
    min_observations: int
    counts: np.ndarray | None = None

    def __call__(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        precipitation, soil_moisture = blocks["precipitation"], blocks["soil_moisture"]
        result = lagged_dependence_of_block(precipitation, soil_moisture,
                                            self.max_lag, self.min_observations)
        fitted = result.status == 0
        lag = np.where(fitted, result.optimal_lag, np.nan)
        adjusted = np.minimum(1.0, (self.max_lag + 1) * p_value_at_lag(
            precipitation.astype(np.float64), soil_moisture.astype(np.float64), lag))
        stability = np.full(lag.shape, np.nan)
        if self.counts is not None and fitted.any():
            lags = resampled_optimal_lags(precipitation[fitted], soil_moisture[fitted],
                                          self.max_lag, self.counts, self.min_observations)
            stability[fitted] = (lags == lag[fitted, None]).mean(axis=1)
        return {
            "optimal_lag_p_value": adjusted,
            "lag_stability": stability,
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
             "status": OutputSpec(dtype="uint8", fill=status_code("no_data")),
             "optimal_lag_p_value": OutputSpec(), "lag_stability": OutputSpec()}
    inputs = block_inputs(infos, min_observations=p.min_observations)
    draws = bootstrap_counts(p, steps)  # drawn once: the same blocks for every cell
    report.info(settings_line(p, steps))
    arrays = BlockExecutor(processes(p), cells_per_process=LAG_CELLS_PER_PROCESS).run(
        LaggedDependenceBlock(p.max_lag, p.min_observations, draws), inputs, specs,
        report.sub(0.0, 0.95))
    status = arrays["status"][0]
    fitted = require_computed(status)
    arrays["significance"] = significance_map(arrays["optimal_lag_p_value"],
                                              arrays["tau_at_optimal_lag"], p.alpha,
                                              arrays["status"] == 0)

    unit = infos["precipitation"].time_scale.removesuffix("ly").replace("dai", "day")
    results = outputs.rasters(arrays, grid, {"unit": unit})
    lag = arrays["optimal_lag"][0]
    if fitted:
        counts = np.bincount(lag[status == 0].astype(int), minlength=p.max_lag + 1)
        significant = int(np.isin(arrays["significance"], (-1, 1)).sum())
        report.info(f"{fitted} cells with a τ; most common optimal lag {int(counts.argmax())} "
                    f"({counts.max() / fitted:.0%} of them); τ at the optimal lag significant "
                    f"(FDR) in {significant / fitted:.1%}"
                    + (f"; the same optimal lag in a median "
                       f"{np.nanmedian(arrays['lag_stability'][0][status == 0]):.0%} of "
                       f"bootstrap replicates" if p.bootstrap_replicates else ""))
    results["FITTED_CELLS"] = fitted
    return results
