"""``lagged_dependence``: Kendall's τ between precipitation at t and soil moisture at t + k."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import styles
from ..blocks import BlockExecutor, OutputSpec
from ..errors import InputError
from ..lags import lagged_dependence as lagged_dependence_of_block
from ..protocol import Reporter
from ..tables import STATUS_NODATA, status_code
from ..timestack import write_raster
from .common import block_inputs, open_stacks, processes


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


def lagged_dependence(params: dict, report: Reporter) -> dict:
    infos = open_stacks(params, ["precipitation", "soil_moisture"])
    grid = infos["precipitation"].grid
    steps = infos["precipitation"].count
    max_lag = int(params.get("max_lag", 12))
    if not 0 <= max_lag < steps - 1:
        raise InputError(f"MAX_LAG {max_lag} leaves no pairs: the stacks have {steps} time steps")
    min_observations = int(params.get("min_observations") or 15)
    report.info(f"τ-b of precipitation(t) and soil moisture(t+k), k = 0…{max_lag}, "
                f"on {grid.width}×{grid.height} cells × {steps} steps")
    outputs = {"tau_by_lag": OutputSpec(bands=max_lag + 1),
               "optimal_lag": OutputSpec(), "tau_at_optimal_lag": OutputSpec(),
               "status": OutputSpec(dtype="uint8", fill=status_code("no_data"))}
    arrays = BlockExecutor(processes(params)).run(
        LaggedDependenceBlock(max_lag, min_observations), block_inputs(infos), outputs,
        report.sub(0.0, 0.95))

    unit = infos["precipitation"].time_scale.removesuffix("ly").replace("dai", "day")
    results = {}
    targets = [  # (output, values, dtype, nodata, band names, style)
        ("output_tau_by_lag", arrays["tau_by_lag"], "float32", -9999.0,
         [f"tau at lag {k} ({unit} steps)" for k in range(max_lag + 1)], styles.tau_style()),
        ("output_optimal_lag", arrays["optimal_lag"], "uint8", 255, ["optimal lag"],
         styles.lag_style(max_lag)),
        ("output_tau_at_optimal_lag", arrays["tau_at_optimal_lag"], "float32", -9999.0,
         ["tau at optimal lag"], styles.tau_style()),
        ("output_status", arrays["status"], "uint8", STATUS_NODATA, ["status"],
         styles.status_style()),
    ]
    for key, data, dtype, nodata, names, style in targets:
        if params.get(key):
            results[key.upper()] = str(write_raster(params[key], data, grid, dtype, nodata,
                                                    band_names=names, style_qml=style))
    status = arrays["status"][0]
    fitted = int((status == 0).sum())
    lag = arrays["optimal_lag"][0]
    if fitted:
        counts = np.bincount(lag[status == 0].astype(int), minlength=max_lag + 1)
        report.info(f"{fitted} cells with a τ; most common optimal lag {int(counts.argmax())} "
                    f"({counts.max() / fitted:.0%} of them)")
    results["FITTED_CELLS"] = fitted
    return results
