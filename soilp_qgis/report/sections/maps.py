"""Figures 2 and 3 of the paper: the copula's τ, λL and λU maps per layer and scale."""

from __future__ import annotations

import numpy as np

from .. import html as h
from ..figures import MapRow, map_grid_figure
from ..layout import DEPENDENCE_MEASURES, LAYERS, SCALES, copula_file
from .common import Context, _outline_note, read_map


def dependence_maps(ctx: Context) -> h.Html:
    """Figures 2 and 3: τ, λL, λU per layer, monthly and annual, one common scale per row."""
    if not any(copula_file(ctx.folder, layer, scale, f"{measure}.tif").is_file()
               for scale in SCALES for layer in LAYERS for measure in DEPENDENCE_MEASURES):
        return h.missing("No copula maps in this folder (copula/{layer}_{scale}_tau.tif, "
                         "…_lower_tail.tif, …_upper_tail.tif).")
    parts = []
    rows = [MapRow(DEPENDENCE_MEASURES["tau"][0], "RdBu", -1.0, 1.0, "Kendall's τ"),
            MapRow(DEPENDENCE_MEASURES["lower_tail"][0], "magma_r", 0.0, 1.0, "λL"),
            MapRow(DEPENDENCE_MEASURES["upper_tail"][0], "magma_r", 0.0, 1.0, "λU")]
    for number_, scale in enumerate(SCALES, start=2):
        panels = {(r, c): read_map(copula_file(ctx.folder, layer, scale, f"{measure}.tif"))
                  for r, measure in enumerate(DEPENDENCE_MEASURES)
                  for c, layer in enumerate(LAYERS)}
        parts.append(h.tag("h3", f"{scale.capitalize()} scale"))
        if all(p is None for p in panels.values()):
            parts.append(h.missing(f"No {scale} copula maps in this folder "
                                   f"(copula/{{layer}}_{scale}_tau.tif, …_lower_tail.tif, "
                                   f"…_upper_tail.tif)."))
            continue
        outline = ctx.outline(list(panels.values()))
        path = map_grid_figure(ctx.figure_path(f"dependence_{scale}"), rows, list(LAYERS.values()),
                               panels, outline,
                               title=f"Precipitation volume and soil moisture, {scale}")
        parts.append(h.figure(path.name, f"Figure {number_} (as the paper's): Kendall's τ, lower "
                              f"and upper tail dependence of the copula selected per cell between "
                              f"{scale} precipitation volume and soil moisture, three soil layers."
                              + _outline_note(outline)))
        summary = []
        for c, (_layer, label) in enumerate(LAYERS.items()):
            cells = [panels[(r, c)] for r in range(len(rows))]
            if all(p is None for p in cells):
                summary.append([label, "not in this folder", "", "", ""])
                continue
            means = [("–" if p is None or not np.isfinite(p.values).any()
                      else f"{np.nanmean(p.values):.3f}") for p in cells]
            tau = cells[0]
            count = int(np.isfinite(tau.values).sum()) if tau is not None else 0
            summary.append([label, f"{count:,}", *means])
        parts.append(h.table(["soil layer", "cells with τ", "mean τ", "mean λL", "mean λU"],
                             summary, numeric=[False, True, True, True, True],
                             caption=f"Means over the cells ({scale}), from the maps above"))
    return h.join(parts)
