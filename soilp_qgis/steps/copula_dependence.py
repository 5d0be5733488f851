"""``copula_dependence``: per cell, the copula of precipitation and soil moisture selected by AIC
(or BIC) among the VineCopula families, and from it Kendall's τ and the tail dependences."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import styles
from ..blocks import BlockExecutor, OutputSpec
from ..copula.fit import PyvinecopulibFitter
from ..copula.margins import calendar_months, deseasonalize
from ..kendall import kendall_tau_b
from ..protocol import Reporter
from ..tables import STATUS_NODATA, status_codes
from ..timestack import write_raster
from .common import (
    block_inputs,
    ecoregion_codes,
    open_stacks,
    processes,
    summarise_by_ecoregion,
    write_csv,
)

FAMILY_NODATA = -1


@dataclass(frozen=True)
class CopulaDependenceBlock:
    """Block function: optional deseasonalising, the copula fit, the sample Kendall τ-b."""

    fitter: PyvinecopulibFitter
    months: Optional[tuple[int, ...]] = None  # calendar month of each step, when deseasonalising

    def __call__(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        precipitation, soil_moisture = blocks["precipitation"], blocks["soil_moisture"]
        if self.months is not None:
            months = np.asarray(self.months)
            precipitation = deseasonalize(precipitation, months)
            soil_moisture = deseasonalize(soil_moisture, months)
        fitted = self.fitter.fit_block(precipitation, soil_moisture)
        sample = kendall_tau_b(precipitation, soil_moisture)
        ok = fitted.status == 0
        return {
            "kendall_tau": fitted.kendall_tau,
            "lower_tail_dependence": fitted.lower_tail_dependence,
            "upper_tail_dependence": fitted.upper_tail_dependence,
            "discordant_tail_dependence": fitted.discordant_tail_dependence,
            "family": fitted.family,
            "parameters": np.column_stack([fitted.par, fitted.par2, fitted.par3]),
            "empirical_tau": np.where(ok, sample.tau_b, np.nan),
            "p_value": np.where(ok, sample.p_value, np.nan),
            "status": fitted.status,
        }


OUTPUTS = {
    "kendall_tau": OutputSpec(),
    "lower_tail_dependence": OutputSpec(),
    "upper_tail_dependence": OutputSpec(),
    "discordant_tail_dependence": OutputSpec(),
    "family": OutputSpec(dtype="int16", fill=FAMILY_NODATA),
    "parameters": OutputSpec(bands=3),
    "empirical_tau": OutputSpec(),
    "p_value": OutputSpec(),
    "status": OutputSpec(dtype="uint8", fill=1),
}


def dependence_table(arrays: dict[str, np.ndarray], codes: Optional[np.ndarray]) -> list[dict]:
    """Per ecoregion and overall: valid cells, share with τ < 0 (the paper's headline number),
    mean τ, mean λL, mean λU, the most common family."""
    tau = arrays["kendall_tau"][0]
    lower = arrays["lower_tail_dependence"][0]
    upper = arrays["upper_tail_dependence"][0]
    family = arrays["family"][0]
    valid = arrays["status"][0] == 0

    def summarise(mask: np.ndarray) -> dict:
        if not mask.any():
            return {"negative_share": np.nan, "mean_tau": np.nan, "mean_lower_tail": np.nan,
                    "mean_upper_tail": np.nan, "most_common_family": ""}
        families = Counter(family[mask].tolist())
        # ties between families go to the smaller code, so the table is deterministic
        most_common = min(families.items(), key=lambda item: (-item[1], item[0]))[0]
        return {"negative_share": float((tau[mask] < 0).mean()),
                "mean_tau": float(tau[mask].mean()),
                "mean_lower_tail": float(lower[mask].mean()),
                "mean_upper_tail": float(upper[mask].mean()),
                "most_common_family": int(most_common)}

    return summarise_by_ecoregion(codes, valid, summarise)


def copula_dependence(params: dict, report: Reporter) -> dict:
    infos = open_stacks(params, ["precipitation", "soil_moisture"])
    first = infos["precipitation"]
    grid = first.grid
    season = params.get("season") or "all"
    inputs = block_inputs(infos, season)
    steps = inputs["precipitation"].time_steps
    dates = first.dates if steps is None else first.dates[steps]
    fitter = PyvinecopulibFitter(
        family_set=params.get("family_set") or "all",
        criterion=params.get("criterion") or "aic",
        margins=params.get("margins") or "empirical",
        min_observations=int(params.get("min_observations") or 15))
    deseasonalize = bool(params.get("deseasonalize"))
    months = tuple(int(m) for m in calendar_months(dates)) if deseasonalize else None
    codes = ecoregion_codes(params, grid)  # read before the long fit: a bad layer fails fast
    workers = processes(params)
    report.info(f"copula per cell: {grid.width}×{grid.height} cells × {len(dates)} steps "
                f"(season {season}), families '{fitter.family_set}', {fitter.criterion.upper()}, "
                f"{fitter.margins} margins{', deseasonalised' if deseasonalize else ''}; "
                f"{workers} worker process{'es' if workers > 1 else ''}")
    arrays = BlockExecutor(workers).run(CopulaDependenceBlock(fitter, months), inputs, OUTPUTS,
                                        report.sub(0.0, 0.95))

    written = {}
    targets = [  # (output, values, dtype, nodata, band names, style)
        ("output_tau", "kendall_tau", "float32", -9999.0, ["kendall_tau"], styles.tau_style()),
        ("output_lower_tail", "lower_tail_dependence", "float32", -9999.0,
         ["lower_tail_dependence"], styles.tail_dependence_style()),
        ("output_upper_tail", "upper_tail_dependence", "float32", -9999.0,
         ["upper_tail_dependence"], styles.tail_dependence_style()),
        ("output_discordant_tail", "discordant_tail_dependence", "float32", -9999.0,
         ["discordant_tail_dependence"], styles.tail_dependence_style()),
        ("output_family", "family", "int16", FAMILY_NODATA, ["VineCopula family"],
         styles.family_style()),
        ("output_parameters", "parameters", "float32", -9999.0, ["par", "par2", "par3"], None),
        ("output_empirical_tau", "empirical_tau", "float32", -9999.0, ["kendall_tau_b"],
         styles.tau_style()),
        ("output_p_value", "p_value", "float32", -9999.0, ["p_value"],
         styles.continuous_style(0.0, 0.1, "p", ramp=styles.SEQUENTIAL_BLUES)),
        ("output_status", "status", "uint8", STATUS_NODATA, ["status"], styles.status_style()),
    ]
    for key, name, dtype, nodata, band_names, style in targets:
        if params.get(key):
            written[key.upper()] = str(write_raster(params[key], arrays[name], grid, dtype, nodata,
                                                    band_names=band_names, style_qml=style))
    rows = dependence_table(arrays, codes)
    if params.get("output_table"):
        written["OUTPUT_TABLE"] = str(write_csv(params["output_table"], rows))

    overall = rows[-1]
    status = arrays["status"][0]
    empty = ", ".join(f"{n} {entry['name'].replace('_', ' ')}" for entry in status_codes()
                      if entry["code"] and (n := int((status == entry["code"]).sum())))
    report.info(f"{overall['valid_cells']} cells fitted"
                + (f"; negative dependence (τ < 0) in {overall['negative_share']:.1%} of them"
                   if overall["valid_cells"] else "")
                + (f"; empty cells: {empty}" if empty else ""))
    written["VALID_CELLS"] = overall["valid_cells"]
    written["NEGATIVE_SHARE"] = overall["negative_share"]
    return written
