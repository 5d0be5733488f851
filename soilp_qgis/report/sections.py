"""The report's sections, each made from whichever of its files the output folder holds: copula
maps, the negative-dependence shares, the optimal lag, the ternary composites, the Bayesian
drivers and the provenance. A section whose files are missing says so in one line."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..ecoregions import is_vector, load_ecoregions
from ..protocol import Reporter
from ..ternary import ternary_rgb
from ..timestack import Grid, read_raster
from . import html as h
from .figures import (MapRaster, MapRow, Outline, grouped_bars_figure, histogram_figure,
                      map_grid_figure, outline_segments, rgb_maps_figure)
from .layout import (DEPENDENCE_MEASURES, LAYERS, PERIODS, SCALES, SEASONS, bayes_file,
                     copula_file, lag_file, ridge_file, ridge_legend)
from .provenance import read_provenance, read_step_provenances

#: the paper's shares of cells with negative dependence (section 3.1), for comparison
PAPER_NEGATIVE_SHARE = {("layer1", "monthly"): 0.192, ("layer2", "monthly"): 0.007,
                        ("layer3", "monthly"): 0.023, ("layer1", "annual"): 0.030,
                        ("layer2", "annual"): 0.040, ("layer3", "annual"): 0.086}
#: ridge class-share columns in the order the paper's inset histograms show them
CLASS_ORDER = ("frequency", "volume", "evapotranspiration", "mixed")
CLASS_LABELS = {"frequency": "frequency", "volume": "volume", "evapotranspiration": "ET",
                "mixed": "mixed"}
RIDGE_GROUPS = (("monthly", ("monthly",), "monthly (as the paper's figure 4)", 1),
                ("seasons", SEASONS, "per season (as the paper's figure 5)", 2),
                ("annual", ("annual",), "annual (as the paper's figure 6)", 1))
CONVERGED_RHAT = 1.05


# ------------------------------------------------------------------------------------ numbers

def percent(share: float) -> str:
    """``0.1683`` → ``"16.8 %"``; ``"–"`` when not a number."""
    return "–" if share is None or not math.isfinite(share) else f"{100.0 * share:.1f} %"


def share_text(share: float, cells: int) -> str:
    """``"16.8 % of 3,243 cells"`` (the headline numbers' form)."""
    if not cells:
        return "no valid cells"
    return f"{percent(share)} of {int(cells):,} cell{'s' if cells != 1 else ''}"


def number(value: Any) -> float:
    """A CSV field as a float (NaN when empty or not a number)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def count(value: Any) -> int:
    """A CSV field as a cell count (0 when empty)."""
    value = number(value)
    return int(value) if math.isfinite(value) else 0


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ecoregion_sort_key(label: str) -> tuple:
    """Ecoregion rows by code (``"4 Temperate …"``), ``all`` last."""
    if label == "all":
        return (2, 0, label)
    match = re.match(r"\s*(-?\d+)", label)
    return (0, int(match.group(1)), label) if match else (1, 0, label)


def negative_share_of_raster(tau: np.ndarray) -> tuple[float, int]:
    """Share of the cells with a τ whose τ is negative, and how many cells have a τ."""
    finite = np.isfinite(tau)
    cells = int(finite.sum())
    return (float((tau[finite] < 0).mean()) if cells else math.nan), cells


# ------------------------------------------------------------------------------------ context

@dataclass
class Context:
    """What the sections share: the folder read, where the page and its figures go, the land
    outline, the reporter, and the figures written so far."""

    folder: Path
    out_dir: Path
    reporter: Reporter
    ecoregions: Optional[str] = None
    field_name: str = "BIOME"
    figures: list[Path] = field(default_factory=list)
    _outline_cache: dict = field(default_factory=dict)

    def figure_path(self, name: str) -> Path:
        path = self.out_dir / f"report_{name}.png"
        self.figures.append(path)
        return path

    def link(self, path: Path) -> str:
        """``src`` for a file from the folder: relative to the page when it lies beside or below
        it, else a copy beside the page (``report_<name>``) so the page stays self-contained."""
        path = Path(path).resolve()
        out_dir = self.out_dir.resolve()
        try:
            return path.relative_to(out_dir).as_posix()
        except ValueError:
            copy = out_dir / f"report_{path.name}"
            shutil.copyfile(path, copy)
            self.figures.append(copy)
            return copy.name

    def outline(self, rasters: Sequence[Optional[MapRaster]]) -> Optional[Outline]:
        """The land outline: the ecoregions' boundary (cells with a code > 0; polygons are
        rasterized on the first raster's grid), or else the boundary of the cells with a value
        in any of ``rasters`` on the first one's grid."""
        present = [r for r in rasters if r is not None]
        if not present:
            return None
        grid = present[0].grid
        if self.ecoregions is not None:
            if "vector" not in self._outline_cache:
                self._outline_cache["vector"] = is_vector(self.ecoregions)
            key = ((tuple(grid.transform), grid.shape) if self._outline_cache["vector"]
                   else "raster")
            if key not in self._outline_cache:
                self._outline_cache[key] = self._ecoregion_outline(grid)
            if self._outline_cache[key] is not None:
                return self._outline_cache[key]
        valid = np.zeros(grid.shape, dtype=bool)
        for raster in present:
            if raster.grid.same_as(grid) is None:
                values = raster.values
                valid |= (values[..., 3] > 0) if values.ndim == 3 else np.isfinite(values)
        return Outline(outline_segments(valid, grid.transform), "cells with a value")

    def _ecoregion_outline(self, grid: Grid) -> Optional[Outline]:
        name = Path(str(self.ecoregions).split("|")[0]).name
        try:
            if self._outline_cache["vector"]:
                codes = load_ecoregions(self.ecoregions, grid, field=self.field_name)
                return Outline(outline_segments(codes > 0, grid.transform), name)
            values, own_grid = read_raster(self.ecoregions)
            land = np.nan_to_num(values[0]) > 0
            return Outline(outline_segments(land, own_grid.transform), name)
        except Exception as exc:  # noqa: BLE001 - the outline is a nicety; say why it is missing
            self.reporter.warning(f"land outline from {name} not drawn ({exc}); the outline of "
                                  "the cells with a value is drawn instead")
            return None


def read_map(path: Path) -> Optional[MapRaster]:
    """Band 1 of a raster as a map, or None when the file is not there."""
    if not path.is_file():
        return None
    values, grid = read_raster(path)
    return MapRaster(values[0], grid)


def read_composite(path: Path) -> Optional[MapRaster]:
    """A 3-band Byte composite as an RGBA image, transparent where every band is nodata."""
    if not path.is_file():
        return None
    values, grid = read_raster(path)
    rgb = values[:3]
    alpha = np.isfinite(rgb).any(axis=0)
    image = np.zeros(grid.shape + (4,))
    image[..., :3] = np.clip(np.nan_to_num(np.moveaxis(rgb, 0, -1)) / 255.0, 0.0, 1.0)
    image[..., 3] = alpha
    return MapRaster(image, grid)


def _outline_note(outline: Optional[Outline]) -> str:
    return f" Outline: {outline.source}." if outline is not None and outline.source else ""


# ------------------------------------------------------------------------ 1. dependence maps

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
        for c, (layer, label) in enumerate(LAYERS.items()):
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


# ------------------------------------------------------------------ 2. negative dependence

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
        parts.append(h.table(["ecoregion"] + [f"{LAYERS[l]}, {s}" for l, s in keys], eco_rows,
                             numeric=[False] + [True] * len(keys),
                             caption="Share of cells with negative dependence per ecoregion",
                             id_="negative-share-by-ecoregion"))
    else:
        parts.append(h.missing("No per-ecoregion rows in the copula tables (run the copula step "
                               "with ecoregions to get them)."))
    return h.join(parts)


# ------------------------------------------------------------------------- 3. optimal lag

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


# --------------------------------------------------------------------- 4. ternary composites

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


# ------------------------------------------------------------------------ 5. Bayesian drivers

def _column(columns: Sequence[str], *names: str) -> Optional[str]:
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _truthy(value: Any) -> Optional[bool]:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "1.0"):
        return True
    if text in ("false", "0", "no", "0.0"):
        return False
    return None


def convergence_rows(rows: list[dict[str, str]]) -> tuple[list[str], list[list[Any]]]:
    """Per ecoregion: largest R-hat, smallest bulk and tail ESS, divergences, tree-depth hits and
    whether it converged (its ``converged`` column where given, else all R-hat < 1.05 and no
    divergences). Columns the table lacks are left out."""
    if not rows:
        return [], []
    columns = list(rows[0])
    region = _column(columns, "ecoregion", "ecoregion_code", "region", "biome")
    rhat = _column(columns, "rhat", "r_hat")
    ess_bulk = _column(columns, "ess_bulk", "ess")
    ess_tail = _column(columns, "ess_tail")
    divergences = _column(columns, "divergences", "divergent", "n_divergences")
    depth = _column(columns, "treedepth_hits", "tree_depth_hits", "max_treedepth_hits",
                    "max_tree_depth_hits")
    converged = _column(columns, "converged")
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(row.get(region, "all") if region else "all", []).append(row)
    headers = ["ecoregion"]
    for name, column in (("max R-hat", rhat), ("min bulk ESS", ess_bulk),
                         ("min tail ESS", ess_tail), ("divergences", divergences),
                         ("tree-depth hits", depth)):
        if column:
            headers.append(name)
    headers.append("converged")
    out = []
    for label in sorted(groups, key=ecoregion_sort_key):
        group = groups[label]

        def values(column: Optional[str]) -> np.ndarray:
            found = np.array([number(row.get(column)) for row in group]) if column else np.array([])
            return found[np.isfinite(found)]

        row: list[Any] = [label]
        stats = {}
        for key, column, reduce in (("rhat", rhat, np.max), ("ess_bulk", ess_bulk, np.min),
                                    ("ess_tail", ess_tail, np.min),
                                    ("divergences", divergences, np.max),
                                    ("depth", depth, np.max)):
            if column:
                found = values(column)
                stats[key] = float(reduce(found)) if found.size else math.nan
                value = stats[key]
                row.append("–" if not math.isfinite(value) else
                           f"{value:.3f}" if key == "rhat" else f"{value:,.0f}")
        flags = [_truthy(r.get(converged)) for r in group] if converged else []
        flags = [f for f in flags if f is not None]
        if flags:
            ok = all(flags)
        elif math.isfinite(stats.get("rhat", math.nan)):
            ok = stats["rhat"] < CONVERGED_RHAT and not stats.get("divergences", 0.0) > 0
        else:
            ok = None
        row.append("–" if ok is None else "yes" if ok else "NO")
        out.append(row)
    return headers, out


def bayesian_drivers(ctx: Context) -> h.Html:
    """Figures 7–8: the quadrant figure per scale and the convergence table."""
    parts = []
    found = False
    for number_, scale in enumerate(SCALES, start=7):
        figure_png = bayes_file(ctx.folder, scale, "figure.png")
        table_csv = bayes_file(ctx.folder, scale, "table.csv")
        parts.append(h.tag("h3", f"{scale.capitalize()} scale"))
        if not figure_png.is_file() and not table_csv.is_file():
            parts.append(h.missing(f"No {scale} Bayesian driver results in this folder "
                                   f"(bayes/{scale}_figure.png, bayes/{scale}_table.csv)."))
            continue
        found = True
        if figure_png.is_file():
            parts.append(h.figure(ctx.link(figure_png), f"Figure {number_} (as the paper's): "
                                  "per ecoregion and term, the estimate for precipitation (x) and "
                                  "for soil moisture (y); quadrants II and IV mark drivers of "
                                  "negative dependence; circles: k-means clusters; red: the "
                                  "least-squares line."))
        else:
            parts.append(h.missing(f"No quadrant figure (bayes/{scale}_figure.png)."))
        if not table_csv.is_file():
            parts.append(h.missing(f"No diagnostics table (bayes/{scale}_table.csv)."))
            continue
        rows = read_csv(table_csv)
        headers, summary = convergence_rows(rows)
        if summary:
            parts.append(h.table(headers, summary, numeric=[False] + [True] * (len(headers) - 1),
                                 caption=f"Convergence per ecoregion ({scale}): R-hat < "
                                         f"{CONVERGED_RHAT} and no divergences",
                                 id_=f"bayes-{scale}-convergence"))
            not_converged = [r[0] for r in summary if r[-1] == "NO"]
            parts.append(h.paragraph(
                f"{len(summary) - len(not_converged)} of {len(summary)} ecoregions converged"
                + (": not converged — " + ", ".join(not_converged) if not_converged else ".")))
            parts.append(h.details(f"All estimates ({table_csv.name}, {len(rows)} rows)",
                                   h.table(list(rows[0]), [list(r.values()) for r in rows])))
        else:
            parts.append(h.missing(f"{table_csv.name} has no rows."))
        report_html = bayes_file(ctx.folder, scale, "report.html")
        if report_html.is_file():
            parts.append(h.paragraph(h.join(["The step's own report: ",
                                             h.tag("a", report_html.name,
                                                   href=ctx.link(report_html))])))
    if not found:
        return h.missing("No Bayesian driver results in this folder (bayes/{scale}_figure.png, "
                         "bayes/{scale}_table.csv).")
    return h.join(parts)


# ------------------------------------------------------------------------------ 6. provenance

def _input_rows(inputs: Sequence[tuple[str, dict[str, Any]]]) -> list[list[object]]:
    rows = []
    for name, entry in inputs:
        time_range = entry.get("time_range") or {}
        dates = (f"{time_range['first']} … {time_range['last']} ({time_range['steps']} "
                 f"{time_range.get('time_scale', '')} steps)" if time_range else "")
        rows.append([name, h.tag("span", entry.get("path", ""), class_="path"),
                     f"{entry['size_bytes']:,}" if "size_bytes" in entry else "missing",
                     entry.get("modified", ""), dates,
                     h.tag("code", entry.get("sha256", "–"))])
    return rows


def _parameter_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def step_runs(runs: list[dict[str, Any]]) -> h.Html:
    """The engine's record of each step run (``provenance/*.json``): one row per run, and every
    input any run read, once, with its checksum."""
    rows = []
    inputs: dict[str, tuple[list[str], dict[str, Any]]] = {}  # path → (parameters, entry)
    for run in runs:
        parameters = {k: v for k, v in run.get("parameters", {}).items()
                      if v not in (None, "") and not k.startswith("OUTPUT")}
        rows.append([run.get("step", ""), ", ".join(Path(p).name for p in
                                                     run.get("outputs", {}).values()),
                     run.get("started", ""), run.get("finished", ""),
                     "; ".join(f"{k}={_parameter_text(v)}" for k, v in parameters.items()
                               if k not in run.get("inputs", {}))])
        for name, entry in run.get("inputs", {}).items():
            names, _ = inputs.setdefault(entry.get("path", name), ([], entry))
            if name not in names:
                names.append(name)
    parts = [h.table(["step", "outputs", "started", "finished", "parameters"], rows,
                     caption="Engine steps run (records in provenance/)", id_="provenance-runs")]
    if inputs:
        parts.append(h.table(["input", "path", "bytes", "modified", "dates", "SHA-256"],
                             _input_rows([(", ".join(names), entry)
                                          for names, entry in inputs.values()]),
                             numeric=[False, False, True], caption="Inputs of the steps",
                             id_="provenance-step-inputs"))
    return h.join(parts)


def provenance_section(ctx: Context) -> h.Html:
    document = read_provenance(ctx.folder)
    runs = read_step_provenances(ctx.folder)
    if document is None:
        message = ("No provenance.json in this folder: inputs, parameters and versions of the "
                   "run are not recorded.")
        if not runs:
            return h.missing(message)
        latest = runs[-1]
        return h.join([
            h.paragraph(message[:-1] + " as a whole; each engine step recorded its own run."),
            h.table(["component", "version"],
                    [[k, v] for k, v in {**latest.get("engine", {}),
                                         **latest.get("libraries", {})}.items()],
                    caption="Engine and libraries (latest step run)"),
            step_runs(runs)])
    parts = [h.paragraph(f"Run recorded {document.get('created', 'at an unknown time')}.")]
    engine = document.get("engine", {})
    libraries = document.get("libraries", {})
    parts.append(h.table(["component", "version"],
                         [[k, v] for k, v in {**engine, **libraries}.items()],
                         caption="Engine and libraries"))
    inputs = document.get("inputs", {})
    if inputs:
        parts.append(h.table(["input", "path", "bytes", "modified", "dates", "SHA-256"],
                             _input_rows(list(inputs.items())), numeric=[False, False, True],
                             caption="Inputs",
                             id_="provenance-inputs"))
    parameters = document.get("parameters", {})
    if parameters:
        parts.append(h.table(["parameter", "value"],
                             [[k, _parameter_text(v)] for k, v in parameters.items()],
                             caption="Parameters"))
    if runs:
        parts.append(step_runs(runs))
    return h.join(parts)


SECTIONS: list[tuple[str, str, Callable[[Context], h.Html]]] = [
    ("dependence-maps", "Dependence of soil moisture on precipitation (copula)", dependence_maps),
    ("negative-dependence", "Negative dependence", negative_dependence),
    ("optimal-lag", "Optimal lag", optimal_lag),
    ("ternary", "What controls soil moisture (ridge regression)", ternary_composites),
    ("bayesian-drivers", "Drivers of the dependence per ecoregion (Bayesian)", bayesian_drivers),
    ("provenance", "Provenance", provenance_section),
]
