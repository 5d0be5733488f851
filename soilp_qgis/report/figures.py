"""The report's figures, drawn with matplotlib's Agg canvas (no display, no pyplot state): map
panels from rasters with a land outline, colour composites, and bar charts of shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np
from affine import Affine

from ..timestack import Grid

DPI = 110
PANEL_WIDTH = 4.2  # inches
MISSING_TEXT = "not in this folder"
OUTLINE_COLOUR = "0.15"


@dataclass
class MapRaster:
    """One band to draw: values ``(rows, cols)`` (NaN empty) or an RGBA image ``(rows, cols, 4)``
    on a north-up grid."""

    values: np.ndarray
    grid: Grid

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(left, right, bottom, top)`` for ``imshow``, from the grid's transform."""
        west, south, east, north = self.grid.bounds
        return (west, east, south, north)


@dataclass
class MapRow:
    """A row of map panels sharing one colour scale and one colour bar."""

    label: str
    cmap: str
    vmin: float
    vmax: float
    colorbar_label: str = ""
    #: draw as classes: one colour per whole number vmin…vmax
    discrete: bool = False


@dataclass
class Outline:
    """Line segments ``(n, 2, 2)`` (start and end ``(x, y)``) drawn over every map panel."""

    segments: np.ndarray
    source: str = ""
    _paths: list = field(default_factory=list, init=False, repr=False, compare=False)

    def paths(self) -> list:
        """The segments as matplotlib paths, made once and shared by every panel drawing the
        outline (thousands of them: making them again for each panel cost more than drawing)."""
        if not self._paths and len(self.segments):
            from matplotlib.path import Path as MplPath

            self._paths = [MplPath(segment) for segment in np.asarray(self.segments, float)]
        return self._paths


def outline_segments(mask: np.ndarray, transform: Affine) -> np.ndarray:
    """The boundary of the ``True`` cells of ``mask`` as cell-edge segments ``(n, 2, 2)`` in the
    coordinates of ``transform`` (pixel corner ``(col, row)`` → ``transform * (col, row)``)."""
    mask = np.asarray(mask, dtype=bool)
    padded = np.pad(mask, 1)
    # edges between vertically adjacent cells: padded rows i and i+1 differ → edge at row line i
    rows_h, cols_h = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])
    # edges between horizontally adjacent cells: padded cols j and j+1 differ → edge at col line j
    rows_v, cols_v = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])
    starts = np.concatenate([np.column_stack([cols_h, rows_h]), np.column_stack([cols_v, rows_v])])
    ends = np.concatenate([np.column_stack([cols_h + 1, rows_h]),
                           np.column_stack([cols_v, rows_v + 1])])
    pixel = np.stack([starts, ends], axis=1).astype(float)  # (n, 2, (col, row))
    a, b, c, d, e, f = tuple(transform)[:6]
    x = c + a * pixel[..., 0] + b * pixel[..., 1]
    y = f + d * pixel[..., 0] + e * pixel[..., 1]
    return np.stack([x, y], axis=-1)


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


#: zlib level of the PNGs: 1 writes them in about half the time of the default (6), the same
#: pixels, files about a tenth larger
PNG_OPTIONS = {"compress_level": 1}


def _save(figure, path: Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".part.png")
    engine = figure.get_layout_engine()
    if engine is not None:
        # lay the figure out here, once, and drop the engine: with one, savefig draws the whole
        # figure without rendering only to run the layout, then draws it again (the figure's
        # dpi is DPI, so the layout is the one savefig would make)
        import matplotlib

        engine.execute(figure)
        with matplotlib.rc_context({"figure.autolayout": False,
                                    "figure.constrained_layout.use": False}):
            figure.set_layout_engine(None)
    figure.savefig(tmp, dpi=DPI, facecolor="white", pil_kwargs=dict(PNG_OPTIONS))
    tmp.replace(path)
    return path


def _panel_aspect(rasters: Sequence[Optional[MapRaster]]) -> float:
    """Height/width of the panels (equal axes), from the first raster there is; kept readable."""
    for raster in rasters:
        if raster is not None:
            left, right, bottom, top = raster.extent
            return float(np.clip((top - bottom) / max(right - left, 1e-12), 0.2, 1.6))
    return 0.5


def _geographic(raster: Optional[MapRaster]) -> bool:
    return raster is not None and raster.grid.crs is not None and raster.grid.crs.is_geographic


def _decorate_axes(ax, raster: MapRaster, outline: Optional[Outline], first_col: bool,
                   last_row: bool) -> None:
    from matplotlib.collections import PathCollection
    from matplotlib.ticker import FuncFormatter

    if outline is not None and len(outline.segments):
        # drawn as a LineCollection of the segments would be (same zorder, no fill), from the
        # outline's shared paths; the limits are set below, so the outline's extent is not needed
        ax.add_collection(PathCollection(outline.paths(), facecolors="none",
                                         edgecolors=OUTLINE_COLOUR, linewidths=0.5, zorder=2),
                          autolim=False)
    left, right, bottom, top = raster.extent
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7, length=2)
    if _geographic(raster):
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{abs(v):g}°{'W' if v < 0 else 'E' if v > 0 else ''}"))
        ax.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{abs(v):g}°{'S' if v < 0 else 'N' if v > 0 else ''}"))
    if not first_col:
        ax.set_yticklabels([])
    if not last_row:
        ax.set_xticklabels([])


def _missing_panel(ax, text: str = MISSING_TEXT) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, color="0.4",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("0.8")


def map_grid_figure(path: Path, rows: Sequence[MapRow], columns: Sequence[str],
                    panels: Mapping[tuple[int, int], Optional[MapRaster]],
                    outline: Optional[Outline] = None, title: str = "") -> Path:
    """Rows × columns of maps (``panels[(row, col)]``; None: drawn as missing), one colour scale
    and colour bar per row, the outline over each map; saved as PNG at ``path``."""
    from matplotlib.colors import BoundaryNorm, Normalize
    import matplotlib

    aspect = _panel_aspect(list(panels.values()))
    n_rows, n_cols = len(rows), len(columns)
    width = PANEL_WIDTH * n_cols + 1.2
    figure = _new_figure(width, n_rows * (PANEL_WIDTH * aspect + 0.45) + (0.4 if title else 0.1))
    axes = np.atleast_2d(figure.subplots(n_rows, n_cols, squeeze=False))
    for r, row in enumerate(rows):
        cmap = matplotlib.colormaps[row.cmap]
        if row.discrete:
            bounds = np.arange(row.vmin, row.vmax + 2) - 0.5
            cmap = cmap.resampled(len(bounds) - 1)
            norm = BoundaryNorm(bounds, cmap.N)
        else:
            norm = Normalize(row.vmin, row.vmax)
        cmap = cmap.with_extremes(bad=(1, 1, 1, 0))
        image = None
        for c, column in enumerate(columns):
            ax = axes[r, c]
            raster = panels.get((r, c))
            ax.set_title(f"{row.label} — {column}" if n_rows > 1 or n_cols > 1 else row.label,
                         fontsize=9)
            if raster is None:
                _missing_panel(ax)
                continue
            image = ax.imshow(np.ma.masked_invalid(raster.values), extent=raster.extent,
                              cmap=cmap, norm=norm, interpolation="nearest", origin="upper")
            _decorate_axes(ax, raster, outline, c == 0, r == n_rows - 1)
        if image is None:
            from matplotlib.cm import ScalarMappable
            image = ScalarMappable(norm=norm, cmap=cmap)
        bar = figure.colorbar(image, ax=list(axes[r]), shrink=0.9, pad=0.01, aspect=15)
        bar.set_label(row.colorbar_label or row.label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
        if row.discrete:
            step = max(1, int(np.ceil((row.vmax - row.vmin + 1) / 13)))
            bar.set_ticks(np.arange(row.vmin, row.vmax + 1, step))
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path)


def rgb_maps_figure(path: Path, panels: Sequence[tuple[str, Optional[MapRaster]]],
                    outline: Optional[Outline] = None, title: str = "", n_cols: int = 1) -> Path:
    """Colour composites (RGBA images, transparent where empty) with the outline, ``n_cols``
    panels per row; saved as PNG at ``path``."""
    n_rows = int(np.ceil(len(panels) / n_cols))
    aspect = _panel_aspect([raster for _, raster in panels])
    panel_width = PANEL_WIDTH * (1.6 if n_cols == 1 else 1.0)
    figure = _new_figure(panel_width * n_cols + 0.5,
                         n_rows * (panel_width * aspect + 0.45) + (0.4 if title else 0.1))
    axes = np.atleast_2d(figure.subplots(n_rows, n_cols, squeeze=False))
    for index, ax in enumerate(axes.flat):
        if index >= len(panels):
            ax.set_axis_off()
            continue
        label, raster = panels[index]
        ax.set_title(label, fontsize=9)
        if raster is None:
            _missing_panel(ax)
            continue
        ax.imshow(raster.values, extent=raster.extent, interpolation="nearest", origin="upper")
        _decorate_axes(ax, raster, outline, True, True)
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path)


def grouped_bars_figure(path: Path, groups: Sequence[str], series: Sequence[str],
                        values: Mapping[tuple[str, str], float], colours: Mapping[str, object],
                        ylabel: str, title: str = "",
                        references: Optional[Mapping[tuple[str, str], float]] = None,
                        reference_label: str = "") -> Path:
    """Bars of ``values[(group, series)]`` (fractions, drawn in %), one cluster per group, one
    colour per series; optional reference values drawn as open diamonds. Saved as PNG."""
    figure = _new_figure(max(4.5, 1.1 * len(groups) * max(1, len(series)) * 0.45 + 2.0), 3.4)
    ax = figure.subplots()
    width = 0.8 / max(len(series), 1)
    reference_drawn = False
    for s, name in enumerate(series):
        x = np.arange(len(groups)) + (s - (len(series) - 1) / 2) * width
        heights = np.array([100.0 * values.get((g, name), np.nan) for g in groups])
        bars = ax.bar(x, np.nan_to_num(heights), width * 0.92, color=colours[name],
                      edgecolor="black", linewidth=0.5, label=name)
        for bar, h in zip(bars, heights):
            if np.isfinite(h):
                ax.text(bar.get_x() + bar.get_width() / 2, h, f"{h:.1f}", ha="center",
                        va="bottom", fontsize=7)
        if references:
            ref = np.array([100.0 * references.get((g, name), np.nan) for g in groups])
            if np.isfinite(ref).any():
                ax.scatter(x, ref, marker="D", facecolors="none", edgecolors="black", s=28,
                           zorder=3, label=None if reference_drawn else reference_label)
                reference_drawn = True
    ax.set_xticks(np.arange(len(groups)), groups, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=9)
    top = np.nanmax([100.0 * v for v in values.values()] + [1.0] +
                    [100.0 * v for v in (references or {}).values()])
    ax.set_ylim(0, top * 1.2)
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=8, frameon=False, ncols=min(len(series) + reference_drawn, 5))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(figure, path)


def histogram_figure(path: Path, panels: Sequence[tuple[str, np.ndarray]], bins: np.ndarray,
                     xlabel: str, title: str = "") -> Path:
    """One histogram (share of cells, %) per ``(label, values)`` panel, side by side."""
    figure = _new_figure(max(3.2 * len(panels), 4.0), 2.8)
    axes = np.atleast_1d(figure.subplots(1, len(panels), squeeze=False)[0])
    for ax, (label, values) in zip(axes, panels):
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        weights = np.full(values.size, 100.0 / max(values.size, 1))
        ax.hist(values, bins=bins, weights=weights, color="#3b528b", edgecolor="white")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("share of cells (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if title:
        figure.suptitle(title, fontsize=10)
    return _save(figure, path)
