"""``copula_dependence``: per cell, the copula of precipitation and soil moisture selected by AIC
(or BIC) among the VineCopula families, and from it Kendall's τ and the tail dependences."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .. import contract
from ..blocks import BlockExecutor, OutputSpec
from ..contract import FileOutput, RasterOutput, StepParameters
from ..copula.families import FAMILY_SETS
from ..copula.fit import FITTERS, FitterSettings, make_fitter
from ..copula.margins import calendar_months, deseasonalize
from ..kendall import kendall_tau_b
from ..protocol import Reporter
from ..tables import STATUS_NODATA, status_code, status_codes
from .common import (
    block_inputs,
    ecoregion_codes,
    min_observations_parameter,
    open_stacks,
    processes,
    processes_parameter,
    season_parameter,
    summarise_by_ecoregion,
)
from .outputs import StepOutputs, engine_step, require_computed

FAMILY_NODATA = -1


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``copula_dependence`` (soilp:copuladependence)."""

    STEP = "copula_dependence"

    precipitation: str = contract.stack()
    soil_moisture: str = contract.stack()
    season: str = season_parameter()
    deseasonalize: bool = contract.boolean(False)
    margins: str = contract.choice(("empirical", "parametric"), "empirical")
    family_set: str = contract.choice(tuple(FAMILY_SETS), "all")
    criterion: str = contract.choice(("aic", "bic"), "aic")
    fitter: str = contract.choice(FITTERS, "batched")
    min_observations: int = min_observations_parameter(15)
    ecoregions: str | None = contract.vector()
    field: str | None = contract.field_name()
    ecoregions_raster: str | None = contract.raster(required=False)
    processes: int = processes_parameter()
    output_tau: str | None = contract.raster_output()
    output_lower_tail: str | None = contract.raster_output()
    output_upper_tail: str | None = contract.raster_output()
    output_discordant_tail: str | None = contract.raster_output()
    output_family: str | None = contract.raster_output()
    output_parameters: str | None = contract.raster_output()
    output_empirical_tau: str | None = contract.raster_output()
    output_p_value: str | None = contract.raster_output()
    output_status: str | None = contract.raster_output()
    output_table: str | None = contract.file_output()


OUTPUTS = (
    RasterOutput("output_tau", "kendall_tau", bands=["kendall_tau"], style="tau"),
    RasterOutput("output_lower_tail", "lower_tail_dependence", bands=["lower_tail_dependence"],
                 style="tail"),
    RasterOutput("output_upper_tail", "upper_tail_dependence", bands=["upper_tail_dependence"],
                 style="tail"),
    RasterOutput("output_discordant_tail", "discordant_tail_dependence",
                 bands=["discordant_tail_dependence"], style="tail"),
    RasterOutput("output_family", "family", "int16", FAMILY_NODATA, ["VineCopula family"],
                 style="family"),
    RasterOutput("output_parameters", "parameters", bands=["par", "par2"]),
    RasterOutput("output_empirical_tau", "empirical_tau", bands=["kendall_tau_b"], style="tau"),
    RasterOutput("output_p_value", "p_value", bands=["p_value"], style="p_value"),
    RasterOutput("output_status", "status", "uint8", STATUS_NODATA, ["status"], style="status"),
    FileOutput("output_table", "csv", "per ecoregion and 'all': valid_cells, negative_share, "
                                      "mean_tau, mean_lower_tail, mean_upper_tail, "
                                      "most_common_family"),
)
#: columns of the table
TABLE_COLUMNS = ("ecoregion", "valid_cells", "negative_share", "mean_tau", "mean_lower_tail",
                 "mean_upper_tail", "most_common_family")


@dataclass(frozen=True)
class CopulaDependenceBlock:
    """Block function: optional deseasonalising, the copula fit, the sample Kendall τ-b."""

    fitter: FitterSettings
    months: tuple[int, ...] | None = None  # calendar month of each step, when deseasonalising

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
            "parameters": copula_parameters(fitted.par, fitted.par2),
            "empirical_tau": np.where(ok, sample.tau_b, np.nan),
            "p_value": np.where(ok, sample.p_value, np.nan),
            "status": fitted.status,
        }


def copula_parameters(par: np.ndarray, par2: np.ndarray) -> np.ndarray:
    """``(cells, 2)``: VineCopula's par and par2, par2 NaN (nodata) where the family has one
    parameter (VineCopula writes 0 there; every two-parameter family's par2 is non-zero). No
    band for par3: no VineCopula family has a third parameter, and a constant band makes QGIS
    print a GDAL error each time it loads the raster."""
    return np.column_stack([par, np.where(par2 == 0.0, np.nan, par2)])


OUTPUTS_SPEC = {
    "kendall_tau": OutputSpec(),
    "lower_tail_dependence": OutputSpec(),
    "upper_tail_dependence": OutputSpec(),
    "discordant_tail_dependence": OutputSpec(),
    "family": OutputSpec(dtype="int16", fill=FAMILY_NODATA),
    "parameters": OutputSpec(bands=2),
    "empirical_tau": OutputSpec(),
    "p_value": OutputSpec(),
    "status": OutputSpec(dtype="uint8", fill=status_code("no_data")),
}


def dependence_table(arrays: dict[str, np.ndarray], codes: np.ndarray | None) -> list[dict]:
    """Per ecoregion and overall: valid cells, share with τ < 0 (the headline number of the
    paper, docs/REFERENCES.md [paper]), mean τ, mean λL, mean λU, the most common family."""
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


@engine_step(Parameters, OUTPUTS)
def copula_dependence(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    infos = open_stacks(p, ["precipitation", "soil_moisture"])
    first = infos["precipitation"]
    grid = first.grid
    inputs = block_inputs(infos, p.season, p.min_observations)
    steps = inputs["precipitation"].time_steps
    dates = first.dates if steps is None else first.dates[steps]
    fitter = make_fitter(p.fitter, family_set=p.family_set, criterion=p.criterion,
                         margins=p.margins, min_observations=p.min_observations)
    months = tuple(int(m) for m in calendar_months(dates)) if p.deseasonalize else None
    codes = ecoregion_codes(p, grid, report)  # read before the long fit: a bad layer fails fast
    workers = processes(p)
    report.info(f"copula per cell: {grid.width}×{grid.height} cells × {len(dates)} steps "
                f"(season {p.season}), families '{fitter.family_set}', "
                f"{fitter.criterion.upper()}, {fitter.margins} margins, {p.fitter} fitter"
                f"{', deseasonalised' if p.deseasonalize else ''}; "
                f"{workers} worker process{'es' if workers > 1 else ''}")
    arrays = BlockExecutor(workers).run(CopulaDependenceBlock(fitter, months), inputs, OUTPUTS_SPEC,
                                        report.sub(0.0, 0.95))
    status = arrays["status"][0]
    require_computed(status)

    written = outputs.rasters(arrays, grid)
    rows = dependence_table(arrays, codes)
    written.update(outputs.csv("output_table", rows, TABLE_COLUMNS))

    overall = rows[-1]
    empty = ", ".join(f"{n} {entry['name'].replace('_', ' ')}" for entry in status_codes()
                      if entry["code"] and (n := int((status == entry["code"]).sum())))
    report.info(f"{overall['valid_cells']} cells fitted"
                + (f"; negative dependence (τ < 0) in {overall['negative_share']:.1%} of them"
                   if overall["valid_cells"] else "")
                + (f"; empty cells: {empty}" if empty else ""))
    written["VALID_CELLS"] = overall["valid_cells"]
    written["NEGATIVE_SHARE"] = overall["negative_share"]
    return written
