"""Figures 4–6 of the paper: the ridge-control ternary composites, their legends and the
class-share histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...ternary import ternary_rgb
from .. import html as h
from ..figures import grouped_bars_figure, rgb_maps_figure
from ..layout import LAYERS, PERIODS, SEASONS, ridge_file, ridge_legend
from .common import (
    Context,
    _outline_note,
    count,
    ecoregion_sort_key,
    number,
    percent,
    read_composite,
    read_csv,
    share_text,
)

#: ridge class-share columns in the order the paper's inset histograms show them
CLASS_ORDER = ("frequency", "volume", "evapotranspiration", "mixed")
CLASS_LABELS = {"frequency": "frequency", "volume": "volume", "evapotranspiration": "ET",
                "mixed": "mixed"}
RIDGE_GROUPS = (("monthly", ("monthly",), "monthly (as the paper's figure 4)", 1),
                ("seasons", SEASONS, "per season (as the paper's figure 5)", 2),
                ("annual", ("annual",), "annual (as the paper's figure 6)", 1))


def composite_colour_model(path: Path) -> str:
    """The colour model a composite was made with, from its band descriptions (``red (CMY)``)."""
    import rasterio

    with rasterio.open(path) as src:
        text = " ".join(d or "" for d in src.descriptions)
    return "RGB" if "(RGB)" in text else "CMY"


def class_colours(color_model: str) -> dict[str, tuple]:
    """Colour of each dominant class: the composite's corner colour, mixed grey."""
    corners = ternary_rgb(np.eye(3), color_model) / 255.0  # columns: frequency, volume, ET
    return {"frequency": tuple(corners[:, 0]), "volume": tuple(corners[:, 1]),
            "evapotranspiration": tuple(corners[:, 2]), "mixed": (0.6, 0.6, 0.6)}


def ridge_shares(folder: Path, layer: str) -> dict[str, list[dict[str, str]]]:
    """The class-share table of each period that has one."""
    return {period: read_csv(ridge_file(folder, layer, period, "table.csv")) for period in PERIODS
            if ridge_file(folder, layer, period, "table.csv").is_file()}


def ternary_composites(ctx: Context) -> h.Html:
    """Figures 4–6: the ternary composites with their legends, and the class-share histograms."""
    layers = [layer for layer in LAYERS
              if any(ridge_file(ctx.folder, layer, period, what).is_file()
                     for period in PERIODS for what in ("rgb.tif", "table.csv"))]
    if not layers:
        return h.missing("No ridge-control results in this folder (ridge/{layer}_{period}_rgb.tif, "
                         "…_table.csv).")
    parts = [h.paragraph("Which of precipitation frequency, precipitation volume and "
                         "evapotranspiration controls soil moisture: each cell's colour mixes "
                         "the three ridge weights W = |β| / Σ|β|; a weight above the strong-"
                         "control threshold makes that variable dominant.")]
    for layer in layers:
        parts.append(h.tag("h3", LAYERS[layer]))
        model = "CMY"
        for group, periods, label, n_cols in RIDGE_GROUPS:
            composites = [(period, read_composite(ridge_file(ctx.folder, layer, period, "rgb.tif")))
                          for period in periods]
            present = [period for period, raster in composites if raster is not None]
            if not present:
                parts.append(h.missing(f"No {group} composite for {LAYERS[layer]} "
                                       f"(ridge/{layer}_{'/'.join(periods)}_rgb.tif)."))
                continue
            model = composite_colour_model(ridge_file(ctx.folder, layer, present[0], "rgb.tif"))
            outline = ctx.outline([raster for _, raster in composites])
            path = rgb_maps_figure(ctx.figure_path(f"ridge_{layer}_{group}"),
                                   [(period, raster) for period, raster in composites], outline,
                                   title=f"Control of soil moisture, {LAYERS[layer]}, {group}",
                                   n_cols=n_cols)
            legends = []
            for period in present:
                legend = ridge_legend(ctx.folder, layer, period)
                if legend is not None:
                    legends.append(h.figure(ctx.link(legend), f"Legend and class shares, {period}"))
                else:
                    legends.append(h.missing(f"No legend PNG for {period} (ridge/{layer}_"
                                             f"{period}_rgb_legend.png)."))
            caption = f"Ternary composite, {label}, {model} colours." + _outline_note(outline)
            parts.append(h.tag("div", h.join([h.figure(path.name, caption),
                                              h.tag("div", h.join(legends), class_="legends wide"
                                                    if len(legends) > 1 else "legends")]),
                               class_="side"))
        shares = ridge_shares(ctx.folder, layer)
        if not shares:
            parts.append(h.missing(f"No class-share tables for {LAYERS[layer]} "
                                   f"(ridge/{layer}_{{period}}_table.csv)."))
            continue
        overall = {period: next((row for row in rows if row.get("ecoregion") == "all"), None)
                   for period, rows in shares.items()}
        values = {(period, CLASS_LABELS[name]): number(row.get(f"{name}_share"))
                  for period, row in overall.items() if row for name in CLASS_ORDER}
        colours = {CLASS_LABELS[name]: colour for name, colour in class_colours(model).items()}
        path = grouped_bars_figure(ctx.figure_path(f"ridge_{layer}_shares"), list(shares),
                                   [CLASS_LABELS[name] for name in CLASS_ORDER], values, colours,
                                   "share of cells (%)",
                                   f"Dominant control of soil moisture, {LAYERS[layer]}")
        parts.append(h.figure(path.name, "Share of cells where one variable controls soil "
                                         "moisture strongly (W above the threshold), or none "
                                         "(mixed), per period."))
        table_rows = []
        for period, row in overall.items():
            if row is None:
                continue
            cells = count(row.get("valid_cells"))
            table_rows.append([period, f"{cells:,}"] + [
                h.tag("span", share_text(number(row.get(f"{name}_share")), cells),
                      id=f"ridge-{layer}-{period}-{name}")
                for name in CLASS_ORDER])
        parts.append(h.table(["period", "cells"] + [CLASS_LABELS[n] for n in CLASS_ORDER],
                             table_rows, numeric=[False] + [True] * (len(CLASS_ORDER) + 1),
                             caption=f"Dominant control, {LAYERS[layer]} (all cells)"))
        for period, rows in shares.items():
            eco = sorted((row for row in rows if row.get("ecoregion") not in (None, "all")),
                         key=lambda row: ecoregion_sort_key(row["ecoregion"]))
            if eco:
                parts.append(h.details(
                    f"Dominant control per ecoregion, {LAYERS[layer]}, {period}",
                    h.table(["ecoregion", "cells"] + [CLASS_LABELS[n] for n in CLASS_ORDER],
                            [[row["ecoregion"], row.get("valid_cells", "")] +
                             [percent(number(row.get(f"{n}_share"))) for n in CLASS_ORDER]
                             for row in eco], numeric=[False] + [True] * 5)))
    return h.join(parts)
