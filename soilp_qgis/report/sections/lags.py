"""The optimal lag: the lag (months) at which soil moisture depends most on precipitation."""

from __future__ import annotations

import numpy as np

from .. import html as h
from ..figures import MapRow, histogram_figure, map_grid_figure
from ..layout import LAYERS, lag_file
from .common import Context, _outline_note, percent, read_map


def optimal_lag(ctx: Context) -> h.Html:
    """The lag (months) at which precipitation and soil moisture depend most, per layer."""
    lags = {layer: read_map(lag_file(ctx.folder, layer, "optimal_lag.tif")) for layer in LAYERS}
    present = [layer for layer, raster in lags.items() if raster is not None]
    if not present:
        return h.missing("No optimal-lag maps in this folder (lag/{layer}_optimal_lag.tif).")
    taus = {layer: read_map(lag_file(ctx.folder, layer, "tau_at_optimal_lag.tif"))
            for layer in present}
    max_lag = 0
    for layer in present:
        by_lag = lag_file(ctx.folder, layer, "tau_by_lag.tif")
        if by_lag.is_file():
            import rasterio
            with rasterio.open(by_lag) as src:
                max_lag = max(max_lag, src.count - 1)
        values = lags[layer].values
        if np.isfinite(values).any():
            max_lag = max(max_lag, int(np.nanmax(values)))
    max_lag = max_lag or 12
    rows = [MapRow("optimal lag", "viridis", 0, max_lag, "optimal lag (months)", discrete=True)]
    panels = {(0, c): lags[layer] for c, layer in enumerate(present)}
    if any(taus[layer] is not None for layer in present):
        rows.append(MapRow("τ at the optimal lag", "RdBu", -1.0, 1.0, "Kendall's τ"))
        panels.update({(1, c): taus[layer] for c, layer in enumerate(present)})
    outline = ctx.outline(list(panels.values()))
    columns = [LAYERS[layer] for layer in present]
    path = map_grid_figure(ctx.figure_path("optimal_lag"), rows, columns, panels, outline,
                           title="Lag of soil moisture behind precipitation")
    parts = [h.figure(path.name, "The lag k (months) maximising |τ| between precipitation at t "
                                 "and soil moisture at t + k, and τ there."
                      + _outline_note(outline))]
    histogram = histogram_figure(
        ctx.figure_path("optimal_lag_histogram"),
        [(LAYERS[layer], lags[layer].values.ravel()) for layer in present],
        np.arange(max_lag + 2) - 0.5, "optimal lag (months)", "Cells per optimal lag")
    parts.append(h.figure(histogram.name, "Share of cells per optimal lag."))
    rows_text = []
    for layer in present:
        values = lags[layer].values[np.isfinite(lags[layer].values)].astype(int)
        if not values.size:
            rows_text.append([LAYERS[layer], "0", "–", "–", "–"])
            continue
        counts = np.bincount(values)
        mode = int(counts.argmax())
        mode_share = percent(counts[mode] / values.size)
        rows_text.append([LAYERS[layer], f"{values.size:,}",
                          f"{mode} month{'s' if mode != 1 else ''} ({mode_share})",
                          f"{np.median(values):g}", percent(float((values == 0).mean()))])
    parts.append(h.table(["soil layer", "cells", "most common optimal lag", "median lag (months)",
                          "no lag (k = 0)"], rows_text, numeric=[False, True, True, True, True],
                         id_="optimal-lag-summary"))
    missing_layers = [LAYERS[layer] for layer in LAYERS if layer not in present]
    if missing_layers:
        parts.append(h.missing("No optimal-lag map for " + ", ".join(missing_layers) + "."))
    return h.join(parts)
