"""``copula_dependence``: per cell, the copula of precipitation and soil moisture selected by AIC
(or BIC) among the VineCopula families, and from it Kendall's τ and the tail dependences; how
many cells are significantly negative (Kendall's test, Benjamini–Hochberg over the map) and a
moving-block bootstrap interval of the share of cells with τ < 0.

The bootstrap does not refit copulas (hundreds of refits per cell would cost hundreds of
steps): a cell counts as negative in a replicate when the sample Kendall τ of the resampled
series is negative and its selected family is not independence. Both fitters consider the
rotated families only at the rotations of the sign of the empirical τ, so a fitted copula's τ
has the sign of the sample τ: on the demo world (3,120 cells per layer and scale) the signs
differ in 0–2 cells per monthly layer and 2–14 per annual layer, all with |τ| near 0. The
cells where AIC picks independence (τ = 0) stay out of the negative share in every
replicate: the interval is conditional on each cell's selected family.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .. import contract
from ..blocks import BlockExecutor, OutputSpec
from ..bootstrap import replicate_shares, resampled_kendall, share_interval
from ..contract import FileOutput, RasterOutput, StepParameters
from ..copula.families import FAMILY_SETS
from ..copula.fit import FITTERS, FitterSettings, make_fitter
from ..copula.margins import calendar_months, deseasonalize
from ..kendall import kendall_tau_b
from ..protocol import Reporter
from ..significance import (
    SIGNIFICANCE_NODATA,
    copula_loglik,
    likelihood_ratio_p_value,
    parameter_count,
    significance_map,
)
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

FAMILY_NODATA = -1
#: default BOOTSTRAP_REPLICATES
REPLICATES = 500
#: cells × time steps below which a worker process does not pay for itself: a spawned worker
#: imports the engine and loads the compiled fitter (2–3 s of CPU) before its first cell, and the
#: demo's grid costs about 10 µs per cell and time step (fit and bootstrap; 60 % of its cells
#: have no data). The demo's 8,100 cells: annual (20 steps, 4–5 s of CPU in this process, twice
#: that with two workers) here, monthly (240 steps) on two workers
WORK_PER_PROCESS = 250_000


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
    alpha: float = alpha_parameter()
    bootstrap_replicates: int = replicates_parameter(REPLICATES)
    block_length: int = block_length_parameter()
    seed: int = seed_parameter()
    output_tau: str | None = contract.raster_output()
    output_lower_tail: str | None = contract.raster_output()
    output_upper_tail: str | None = contract.raster_output()
    output_discordant_tail: str | None = contract.raster_output()
    output_family: str | None = contract.raster_output()
    output_parameters: str | None = contract.raster_output()
    output_empirical_tau: str | None = contract.raster_output()
    output_p_value: str | None = contract.raster_output()
    output_status: str | None = contract.raster_output()
    output_significance: str | None = contract.raster_output()
    output_lr_p_value: str | None = contract.raster_output()
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
    RasterOutput("output_significance", "significance", SIGNIFICANCE_DTYPE, SIGNIFICANCE_NODATA,
                 [SIGNIFICANCE_BAND], style=significance_style),
    RasterOutput("output_lr_p_value", "lr_p_value", bands=["likelihood-ratio p-value"],
                 style="p_value"),
    FileOutput("output_table", "csv", "per ecoregion and 'all': valid_cells, negative_share, "
                                      "negative_share_fdr, negative_share_ci_low, "
                                      "negative_share_ci_high, mean_tau, mean_lower_tail, "
                                      "mean_upper_tail, most_common_family"),
)
#: columns of the table
TABLE_COLUMNS = ("ecoregion", "valid_cells", "negative_share", "negative_share_fdr",
                 "negative_share_ci_low", "negative_share_ci_high", "mean_tau",
                 "mean_lower_tail", "mean_upper_tail", "most_common_family")


@dataclass(frozen=True)
class CopulaDependenceBlock:
    """Block function: optional deseasonalising, the copula fit, the sample Kendall τ-b and its
    p-value, the sign of the sample τ in each bootstrap replicate (``counts``: the replicates'
    draws, the same for every block; 0 where the cell was not fitted or its copula is
    independence: such a cell is never negative in a replicate), the likelihood-ratio p-value
    when asked."""

    fitter: FitterSettings
    months: tuple[int, ...] | None = None  # calendar month of each step, when deseasonalising
    counts: np.ndarray | None = None
    likelihood_ratio: bool = False

    def __call__(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        precipitation, soil_moisture = blocks["precipitation"], blocks["soil_moisture"]
        if self.months is not None:
            months = np.asarray(self.months)
            precipitation = deseasonalize(precipitation, months)
            soil_moisture = deseasonalize(soil_moisture, months)
        fitted = self.fitter.fit_block(precipitation, soil_moisture)
        sample = kendall_tau_b(precipitation, soil_moisture)
        ok = fitted.status == 0
        extra = {}
        if self.counts is not None:
            # only where the sign counts (``dependence_table``): a fitted cell whose copula is
            # not independence; 0 elsewhere. Each cell's resample is its own, so leaving the
            # others out changes nothing (and saves their share of the bootstrap's time)
            signs = np.zeros((ok.size, self.counts.shape[0]), dtype=np.int8)
            needed = np.flatnonzero(ok & (fitted.family != 0))
            if needed.size:
                numerator = resampled_kendall(precipitation[needed], soil_moisture[needed],
                                              self.counts, numerator_only=True)
                signs[needed] = np.sign(numerator).astype(np.int8)
            extra["bootstrap_sign"] = signs
        if self.likelihood_ratio:
            loglik = copula_loglik(fitted.family, fitted.par, fitted.par2, precipitation,
                                   soil_moisture, self.fitter.margins)
            extra["lr_p_value"] = np.where(ok, likelihood_ratio_p_value(
                loglik, parameter_count(fitted.family)), np.nan)
        return {
            **extra,
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


def cells_per_process(steps: int) -> int:
    """``BlockExecutor``'s ``cells_per_process`` for series of ``steps`` time steps: about
    ``WORK_PER_PROCESS`` cell-steps per worker."""
    return max(1, -(-WORK_PER_PROCESS // max(1, int(steps))))


def outputs_spec(replicates: int, likelihood_ratio: bool) -> dict[str, OutputSpec]:
    """The block function's outputs: ``OUTPUTS_SPEC``, the replicates' τ signs, the LR p-value."""
    spec = dict(OUTPUTS_SPEC)
    if replicates:
        spec["bootstrap_sign"] = OutputSpec(bands=replicates, dtype="int8", fill=0)
    if likelihood_ratio:
        spec["lr_p_value"] = OutputSpec()
    return spec


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
    paper, docs/REFERENCES.md [paper]), the share significantly negative after FDR control
    (``significance`` = −1), the bootstrap's 95 % interval of the share with τ < 0
    (``bootstrap.share_interval``; NaN without ``bootstrap_sign``), mean τ, mean λL, mean λU,
    the most common family."""
    tau = arrays["kendall_tau"][0]
    lower = arrays["lower_tail_dependence"][0]
    upper = arrays["upper_tail_dependence"][0]
    family = arrays["family"][0]
    significance = arrays["significance"][0]
    valid = arrays["status"][0] == 0
    # a replicate's negative cells: sample τ < 0 where the selected copula is not independence
    negative = None
    if "bootstrap_sign" in arrays:
        negative = (arrays["bootstrap_sign"] < 0) & (family != 0)

    def summarise(mask: np.ndarray) -> dict:
        if not mask.any():
            return {"negative_share": np.nan, "negative_share_fdr": np.nan,
                    "negative_share_ci_low": np.nan, "negative_share_ci_high": np.nan,
                    "mean_tau": np.nan, "mean_lower_tail": np.nan,
                    "mean_upper_tail": np.nan, "most_common_family": ""}
        families = Counter(family[mask].tolist())
        # ties between families go to the smaller code, so the table is deterministic
        most_common = min(families.items(), key=lambda item: (-item[1], item[0]))[0]
        naive = float((tau[mask] < 0).mean())
        low, high = (np.nan, np.nan) if negative is None else share_interval(
            replicate_shares(negative, mask), naive)
        return {"negative_share": naive,
                "negative_share_fdr": float((significance[mask] == -1).mean()),
                "negative_share_ci_low": low, "negative_share_ci_high": high,
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
    counts = bootstrap_counts(p, len(dates))  # drawn once: the same blocks for every cell
    executor = BlockExecutor(processes(p), cells_per_process=cells_per_process(len(dates)))
    workers = executor.processes_for(grid.width * grid.height)
    report.info(f"copula per cell: {grid.width}×{grid.height} cells × {len(dates)} steps "
                f"(season {p.season}), families '{fitter.family_set}', "
                f"{fitter.criterion.upper()}, {fitter.margins} margins, {p.fitter} fitter"
                f"{', deseasonalised' if p.deseasonalize else ''}; "
                f"{settings_line(p, len(dates))}; "
                f"{workers} worker process{'es' if workers > 1 else ''}")
    likelihood_ratio = outputs.given("output_lr_p_value")
    block = CopulaDependenceBlock(fitter, months, counts, likelihood_ratio)
    arrays = executor.run(block, inputs, outputs_spec(p.bootstrap_replicates, likelihood_ratio),
                          report.sub(0.0, 0.95))
    status = arrays["status"][0]
    require_computed(status)
    arrays["significance"] = significance_map(arrays["p_value"], arrays["empirical_tau"],
                                              p.alpha, arrays["status"] == 0)

    written = outputs.rasters(arrays, grid)
    rows = dependence_table(arrays, codes)
    written.update(outputs.csv("output_table", rows, TABLE_COLUMNS))

    overall = rows[-1]
    empty = ", ".join(f"{n} {entry['name'].replace('_', ' ')}" for entry in status_codes()
                      if entry["code"] and (n := int((status == entry["code"]).sum())))
    report.info(f"{overall['valid_cells']} cells fitted"
                + (f"; negative dependence (τ < 0) in {overall['negative_share']:.1%} of them"
                   + (f" (95 % bootstrap interval {overall['negative_share_ci_low']:.1%}–"
                      f"{overall['negative_share_ci_high']:.1%})" if counts is not None else "")
                   + f", significantly negative (FDR) in {overall['negative_share_fdr']:.1%}"
                   if overall["valid_cells"] else "")
                + (f"; empty cells: {empty}" if empty else ""))
    written["VALID_CELLS"] = overall["valid_cells"]
    written["NEGATIVE_SHARE"] = overall["negative_share"]
    written["NEGATIVE_SHARE_FDR"] = overall["negative_share_fdr"]
    written["NEGATIVE_SHARE_CI_LOW"] = overall["negative_share_ci_low"]
    written["NEGATIVE_SHARE_CI_HIGH"] = overall["negative_share_ci_high"]
    return written
