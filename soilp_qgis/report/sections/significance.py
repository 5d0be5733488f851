"""Is the negative dependence real? Per layer and scale: the share of cells with τ < 0 (as the
paper counts it), the share significantly negative after false discovery rate control, and the
bootstrap's 95 % interval of the share, next to the paper's numbers; the same per ecoregion;
and for the optimal lag, how often its τ is significant and how stable the lag is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...significance import SIGNIFICANCE_NODATA
from ...timestack import read_raster
from .. import html as h
from ..layout import LAYERS, SCALES, copula_file, lag_file
from ..provenance import read_step_provenances
from .common import Context, count, ecoregion_sort_key, number, percent, read_csv
from .negative import PAPER_NEGATIVE_SHARE


@dataclass
class ShareRow:
    """One row of a copula table: the shares of the cells of one ecoregion (or ``all``)."""

    cells: int
    naive: float
    fdr: float
    low: float
    high: float

    @classmethod
    def of(cls, row: dict[str, str]) -> ShareRow:
        return cls(count(row.get("valid_cells")), number(row.get("negative_share")),
                   number(row.get("negative_share_fdr")), number(row.get("negative_share_ci_low")),
                   number(row.get("negative_share_ci_high")))

    def interval(self) -> str:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "–"
        return f"{percent(self.low)} – {percent(self.high)}"


def run_parameters(folder: Path, output: Path) -> dict[str, Any]:
    """The parameters of the step run that wrote ``output`` (from its provenance record; files
    are matched by their folder and name, so a moved output folder still finds them)."""
    wanted = output.parts[-2:]
    for record in reversed(read_step_provenances(folder)):
        paths = (record.get("outputs") or {}).values()
        if any(Path(str(path)).parts[-2:] == wanted for path in paths if path):
            return record.get("parameters") or {}
    return {}


def settings_text(parameters: dict[str, Any]) -> str:
    """``α = 5 % (false discovery rate 10 %), 500 replicates of 7-step blocks, seed 0``"""
    alpha = number(parameters.get("ALPHA"))
    if not math.isfinite(alpha):
        return "settings not recorded"
    text = (f"α = {percent(alpha)} (Benjamini–Hochberg at a false discovery rate of "
            f"{percent(2 * alpha)}, Wilks 2016)")
    replicates = count(parameters.get("BOOTSTRAP_REPLICATES"))
    length = count(parameters.get("BLOCK_LENGTH"))
    if replicates:
        text += (f"; {replicates} moving-block bootstrap replicates, blocks of "
                 f"{f'{length} steps' if length else 'the cube root of the series length'}, "
                 f"seed {count(parameters.get('SEED'))}")
    return text


def reading(label: str, scale: str, row: ShareRow, alpha: float) -> str:
    """The plain-language sentence of one layer and scale."""
    level = percent(alpha) if math.isfinite(alpha) else "the chosen α"
    sentence = (f"{label}, {scale}: of the {percent(row.naive)} of cells with τ < 0"
                + (f" (95 % interval {row.interval()})" if row.interval() != "–" else "")
                + f", {percent(row.fdr)} are significantly negative at {level}")
    if row.naive > 0 and math.isfinite(row.fdr):
        fraction = row.fdr / row.naive
        sentence += (" — none of them" if fraction == 0 else
                     f" — about {100 * fraction:.0f} % of them" if fraction < 0.995
                     else " — all of them")
    return sentence + "."


def lag_summary(folder: Path) -> list[list[str]]:
    """Per layer: cells with an optimal lag, share significant (negative, positive), median
    stability and the share of cells whose lag is the same in ≥ 90 % of replicates."""
    rows = []
    for layer, label in LAYERS.items():
        path = lag_file(folder, layer, "significance.tif")
        if not path.is_file():
            continue
        significance = read_raster(path)[0][0]
        computed = np.isfinite(significance) & (significance != SIGNIFICANCE_NODATA)
        cells = int(computed.sum())
        if not cells:
            rows.append([label, "0", "–", "–", "–", "–"])
            continue
        values = significance[computed]
        stability_path = lag_file(folder, layer, "lag_stability.tif")
        median, stable = "–", "–"
        if stability_path.is_file():
            stability = read_raster(stability_path)[0][0]
            stability = stability[np.isfinite(stability)]
            if stability.size:
                median = percent(float(np.median(stability)))
                # float32 rasters: 90 of 100 replicates is stored just below 0.9
                stable = percent(float((stability >= 0.9 - 1e-6).mean()))
        rows.append([label, f"{cells:,}", percent(float((values == -1).mean())),
                     percent(float((values == 1).mean())), median, stable])
    return rows


def significance_section(ctx: Context) -> h.Html:
    """Naive share, FDR share and bootstrap interval per layer and scale beside the paper's;
    per ecoregion; significance and stability of the optimal lag."""
    tables: dict[tuple[str, str], dict[str, ShareRow]] = {}
    settings: dict[tuple[str, str], dict[str, Any]] = {}
    for scale in SCALES:
        for layer in LAYERS:
            path = copula_file(ctx.folder, layer, scale, "table.csv")
            if not path.is_file():
                continue
            rows = read_csv(path)
            if not rows or "negative_share_fdr" not in rows[0]:
                continue
            tables[(layer, scale)] = {row["ecoregion"]: ShareRow.of(row) for row in rows
                                      if row.get("ecoregion")}
            settings[(layer, scale)] = run_parameters(ctx.folder, path)
    lag_rows = lag_summary(ctx.folder)
    if not tables and not lag_rows:
        return h.missing("No significance results in this folder (copula tables with the column "
                         "negative_share_fdr, lag/{layer}_significance.tif): run the dependence "
                         "steps of this version to get them.")
    parts = []
    if tables:
        first = next(iter(settings.values()))
        alpha = number(first.get("ALPHA"))
        parts.append(h.paragraph(
            "A cell's τ can be negative by chance: with 20 annual values a τ of −0.1 is well "
            "within noise, and among thousands of cells some look negative by chance alone. "
            "Each cell's sample Kendall τ is therefore tested, the false discovery rate is "
            "controlled over the whole map, and a moving-block bootstrap over time (the same "
            "years or months resampled for every cell, so serial and spatial correlation are "
            "kept) gives a 95 % interval of each share. Settings: " + settings_text(first) + "."))
        sentences = [reading(LAYERS[layer], scale, table["all"], alpha)
                     for (layer, scale), table in tables.items() if "all" in table]
        parts.append(h.tag("ul", h.join(h.tag("li", s) for s in sentences),
                           id="significance-reading"))
        rows = []
        for (layer, scale), table in tables.items():
            row = table.get("all")
            if row is None:
                continue
            rows.append([LAYERS[layer], scale, f"{row.cells:,}", percent(row.naive),
                         percent(row.fdr), row.interval(),
                         percent(PAPER_NEGATIVE_SHARE[(layer, scale)])])
        parts.append(h.table(
            ["soil layer", "scale", "cells", "τ < 0 (as the paper)", "significantly negative",
             "95 % interval of τ < 0", "paper: τ < 0"], rows,
            numeric=[False, False, True, True, True, True, True],
            caption="Share of cells with negative dependence: counted as the paper does, "
                    "significant after false discovery rate control, and its bootstrap interval",
            id_="significance-table"))
        labels = sorted({label for table in tables.values() for label in table
                         if label != "all"}, key=ecoregion_sort_key)
        if labels:
            keys = list(tables)
            eco_rows = []
            for label in labels + ["all"]:
                cells = [label]
                for key in keys:
                    row = tables[key].get(label)
                    cells.append("–" if row is None else
                                 f"{percent(row.naive)} [{row.interval()}]; {percent(row.fdr)}")
                eco_rows.append(cells)
            parts.append(h.details(
                "Per ecoregion",
                h.table(["ecoregion"] + [f"{LAYERS[layer]}, {scale}" for layer, scale in keys],
                        eco_rows, numeric=[False] + [True] * len(keys),
                        caption="Per ecoregion: share with τ < 0 [95 % bootstrap interval]; "
                                "share significantly negative",
                        id_="significance-by-ecoregion")))
        outside = [f"{LAYERS[layer]}, {scale}" for (layer, scale), table in tables.items()
                   if "all" in table and not (table["all"].low <= table["all"].naive
                                              <= table["all"].high)
                   and math.isfinite(table["all"].low)]
        if outside:
            # only tables of an earlier version: the interval now always contains the share
            parts.append(h.paragraph(
                "The interval does not contain the share itself for " + "; ".join(outside)
                + ": these tables hold the plain percentile interval of an earlier soilp, which "
                  "cells with τ near 0 pull towards one half. Run the copula step again for the "
                  "interval described below.", class_="check"))
        parts.append(h.paragraph(
            "How to read it: the interval comes from the share over resampled climates, each "
            "cell keeping its selected copula family (cells where AIC chose independence count "
            "as not negative in every replicate). Resampling turns the sign of a cell whose τ is "
            "near 0 towards a coin toss, so the resampled shares lie nearer one half than the "
            "share itself; the interval is their 2.5–97.5 % range, stretched on the side of the "
            "share by its distance to their median, so that it always contains the share. On "
            "simulated maps it covered the expected share in 90–97 % of cases (the lower end "
            "with many weak cells and only 20 years). A cell is significantly negative when "
            "Kendall's test rejects independence after false discovery rate control and its τ "
            "is negative.", class_="check"))
    if lag_rows:
        parts.append(h.table(
            ["soil layer", "cells", "τ at the optimal lag significantly negative",
             "significantly positive", "median lag stability", "lag stable in ≥ 90 % of "
             "replicates"], lag_rows, numeric=[False, True, True, True, True, True],
            caption="Optimal lag: significance of its τ (Kendall's p-value times the number of "
                    "lags tried, then false discovery rate control) and the share of bootstrap "
                    "replicates that pick the same lag",
            id_="lag-significance-table"))
    return h.join(parts)


__all__ = ["significance_section"]
