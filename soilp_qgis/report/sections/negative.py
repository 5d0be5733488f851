"""The headline numbers: the share of cells with negative dependence (τ < 0) per layer and
scale, overall and per ecoregion, beside the paper's."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...timestack import read_raster
from .. import html as h
from ..figures import grouped_bars_figure
from ..layout import LAYERS, SCALES, copula_file
from .common import (
    Context,
    count,
    ecoregion_sort_key,
    negative_share_of_raster,
    number,
    percent,
    read_csv,
    share_text,
)

#: the paper's shares of cells with negative dependence (section 3.1), for comparison
PAPER_NEGATIVE_SHARE = {("layer1", "monthly"): 0.192, ("layer2", "monthly"): 0.007,
                        ("layer3", "monthly"): 0.023, ("layer1", "annual"): 0.030,
                        ("layer2", "annual"): 0.040, ("layer3", "annual"): 0.086}


@dataclass
class NegativeShare:
    layer: str
    scale: str
    share: float
    cells: int
    source: str
    check: str = ""
    problem: bool = False
    by_ecoregion: dict[str, tuple[float, int]] = field(default_factory=dict)


def negative_shares(folder: Path) -> dict[tuple[str, str], NegativeShare]:
    """Per (layer, scale): the share of cells with τ < 0 from the copula table (row ``all`` and
    one per ecoregion), checked against the τ raster; from the raster alone when the table is
    missing."""
    shares = {}
    for scale in SCALES:
        for layer in LAYERS:
            table_path = copula_file(folder, layer, scale, "table.csv")
            tau_path = copula_file(folder, layer, scale, "tau.tif")
            table_name = table_path.relative_to(folder).as_posix()
            tau_name = tau_path.relative_to(folder).as_posix()
            raster = None
            if tau_path.is_file():
                raster = negative_share_of_raster(read_raster(tau_path)[0][0])
            if table_path.is_file():
                rows = read_csv(table_path)
                by_ecoregion = {row["ecoregion"]: (number(row.get("negative_share")),
                                                   count(row.get("valid_cells")))
                                for row in rows if row.get("ecoregion")}
                share, cells = by_ecoregion.get("all", (math.nan, 0))
                entry = NegativeShare(layer, scale, share, cells, table_name,
                                      by_ecoregion=by_ecoregion)
                if raster is not None:
                    agrees = raster[1] == cells and (
                        (not cells) or abs(raster[0] - share) < 5e-6)
                    entry.problem = not agrees
                    entry.check = (f"agrees with {tau_name}" if agrees else
                                   f"{tau_name} gives {share_text(*raster)} instead")
                else:
                    entry.check = f"{tau_name} missing: not cross-checked"
                shares[(layer, scale)] = entry
            elif raster is not None:
                shares[(layer, scale)] = NegativeShare(
                    layer, scale, raster[0], raster[1], tau_name,
                    check=f"{table_name} missing: computed from the τ raster")
    return shares


def _share_span(entry: NegativeShare) -> h.Html:
    return h.tag("span", share_text(entry.share, entry.cells),
                 id=f"negative-share-{entry.layer}-{entry.scale}",
                 data_share=f"{entry.share:.6g}", data_cells=str(entry.cells))


def negative_dependence(ctx: Context) -> h.Html:
    """The headline numbers: share of cells with τ < 0 per layer and scale, overall and per
    ecoregion, with the paper's values beside them."""
    shares = negative_shares(ctx.folder)
    if not shares:
        return h.missing("No copula results in this folder (copula/{layer}_{scale}_table.csv or "
                         "…_tau.tif): no negative-dependence shares.")
    parts = []
    sentences = []
    for scale in SCALES:
        items = [f"{LAYERS[layer]} {share_text(entry.share, entry.cells)}"
                 for layer in LAYERS if (entry := shares.get((layer, scale)))]
        if items:
            sentences.append(f"{scale}: " + "; ".join(items))
    parts.append(h.paragraph("Negative dependence (cells whose copula gives τ < 0) — "
                             + " — ".join(sentences) + "."))
    headers = ["soil layer"] + [f"{scale} (this run)" for scale in SCALES] + \
              [f"{scale} (paper)" for scale in SCALES]
    rows = []
    for layer, label in LAYERS.items():
        row: list[Any] = [label]
        for scale in SCALES:
            entry = shares.get((layer, scale))
            row.append(_share_span(entry) if entry else "not in this folder")
        row += [percent(PAPER_NEGATIVE_SHARE[(layer, scale)]) for scale in SCALES]
        rows.append(row)
    parts.append(h.table(headers, rows, numeric=[False] + [True] * 2 * len(SCALES),
                         caption="Share of cells with negative dependence (τ < 0); the paper's "
                                 "values are for ERA5-Land over the Northern Hemisphere, 2000–2019",
                         id_="negative-share-table"))
    checks = [f"{LAYERS[e.layer]}, {e.scale}: {e.check}" for e in shares.values()]
    problems = [c for e, c in zip(shares.values(), checks) if e.problem]
    if problems:
        parts.append(h.warning("The copula table and its τ raster disagree — "
                               + "; ".join(problems)))
    parts.append(h.paragraph("Checked against the τ rasters: " + "; ".join(checks) + ".",
                             class_="check"))

    values = {(LAYERS[k[0]], k[1]): e.share for k, e in shares.items() if math.isfinite(e.share)}
    references = {(LAYERS[k[0]], k[1]): v for k, v in PAPER_NEGATIVE_SHARE.items()}
    path = grouped_bars_figure(ctx.figure_path("negative_share"), list(LAYERS.values()),
                               list(SCALES), values, {"monthly": "#4393c3", "annual": "#d6604d"},
                               "cells with τ < 0 (%)", "Share of cells with negative dependence",
                               references=references, reference_label="paper")
    parts.append(h.figure(path.name, "Share of cells with negative dependence per soil layer "
                          "and time scale (bars: this run; open diamonds: the paper)."))

    keys = [k for k in ((layer, scale) for scale in SCALES for layer in LAYERS) if k in shares]
    labels = sorted({label for k in keys for label in shares[k].by_ecoregion if label != "all"},
                    key=ecoregion_sort_key)
    if labels:
        eco_rows = []
        for label in labels + ["all"]:
            row = [label]
            for key in keys:
                value = shares[key].by_ecoregion.get(label)
                row.append(share_text(*value) if value else "–")
            eco_rows.append(row)
        columns = [f"{LAYERS[layer]}, {scale}" for layer, scale in keys]
        parts.append(h.table(["ecoregion"] + columns, eco_rows,
                             numeric=[False] + [True] * len(keys),
                             caption="Share of cells with negative dependence per ecoregion",
                             id_="negative-share-by-ecoregion"))
    else:
        parts.append(h.missing("No per-ecoregion rows in the copula tables (run the copula step "
                               "with ecoregions to get them)."))
    return h.join(parts)
