"""The north-up grid of a time stack: CRS, geotransform, size; how two grids differ in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio.windows
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from ..errors import InputError


def as_crs(crs: Any) -> CRS | None:
    """A rasterio CRS from anything ``CRS.from_user_input`` takes (None stays None)."""
    if crs is None or isinstance(crs, CRS):
        return crs
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # rasterio raises CRSError; anything unparsable is an input problem
        raise InputError(f"Unrecognised coordinate reference system {str(crs)[:80]!r}: "
                         f"{exc}") from exc


def crs_label(crs: CRS | None) -> str:
    """A CRS in words: ``EPSG:3035``, else its name."""
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    try:
        import pyproj

        return pyproj.CRS.from_wkt(crs.to_wkt()).name
    except Exception:
        return crs.to_wkt()[:80]


def _same_crs(a: CRS | None, b: CRS | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    epsg_a, epsg_b = a.to_epsg(), b.to_epsg()
    return epsg_a is not None and epsg_a == epsg_b


def clean_number(value: float) -> float:
    """Round away float noise (float32 coordinates, summed steps): 12 significant digits."""
    return float(f"{value:.12g}")


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, geotransform (cell edges) and size in cells."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "crs", as_crs(self.crs))
        object.__setattr__(self, "transform", Affine(*tuple(self.transform)[:6]))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def regular(cls, west: float, north: float, cell_size: float, width: int, height: int,
                crs: Any = "EPSG:4326", cell_height: float | None = None) -> Grid:
        """A north-up grid from its north-west corner and cell size (degrees for EPSG:4326)."""
        dy = cell_size if cell_height is None else cell_height
        return cls(crs, Affine(cell_size, 0.0, west, 0.0, -dy, north), width, height)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return (self.height, self.width)

    @property
    def cell_size(self) -> tuple[float, float]:
        """``(x size, y size)``, both positive."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the outer cell edges."""
        t = self.transform
        west, north = t.c, t.f
        east, south = t.c + t.a * self.width, t.f + t.e * self.height
        return (min(west, east), min(south, north), max(west, east), max(south, north))

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column's centre and y of each row's centre (north to south)."""
        t = self.transform
        x = t.c + t.a * (np.arange(self.width) + 0.5)
        y = t.f + t.e * (np.arange(self.height) + 0.5)
        return x, y

    def window_grid(self, window: Window) -> Grid:
        """The sub-grid covered by ``window``."""
        window = check_window(window, self)
        return Grid(self.crs, rasterio.windows.transform(window, self.transform),
                    int(window.width), int(window.height))

    def _unit(self) -> str:
        if self.crs is None:
            return ""
        if self.crs.is_geographic:
            return "°"
        try:
            unit = self.crs.linear_units
        except Exception:
            return ""
        return {"metre": " m", "meter": " m", "m": " m"}.get(unit, f" {unit}" if unit else "")

    def _size_text(self) -> str:
        dx, dy = self.cell_size
        unit = self._unit()
        if math.isclose(dx, dy, rel_tol=1e-9):
            return f"{dx:.10g}{unit}"
        return f"{dx:.10g}{unit} × {dy:.10g}{unit}"

    def same_as(self, other: Grid) -> str | None:
        """None when the grids match; else the first difference in words, e.g.
        ``"different grids: cell size 0.25° vs 0.5°"`` or
        ``"different CRS: EPSG:4326 vs EPSG:3035"``."""
        if not _same_crs(self.crs, other.crs):
            return f"different CRS: {crs_label(self.crs)} vs {crs_label(other.crs)}"
        (dx1, dy1), (dx2, dy2) = self.cell_size, other.cell_size
        if not (math.isclose(dx1, dx2, rel_tol=1e-6) and math.isclose(dy1, dy2, rel_tol=1e-6)):
            return f"different grids: cell size {self._size_text()} vs {other._size_text()}"
        if (self.width, self.height) != (other.width, other.height):
            return (f"different grids: size {self.width}×{self.height} vs "
                    f"{other.width}×{other.height} cells (columns × rows)")
        w1, s1, e1, n1 = self.bounds
        w2, s2, e2, n2 = other.bounds
        if abs(w1 - w2) > 1e-3 * dx1 or abs(n1 - n2) > 1e-3 * dy1:
            unit = self._unit().strip()
            return (f"different grids: origin (west, north) ({w1:.10g}, {n1:.10g}) vs "
                    f"({w2:.10g}, {n2:.10g}){' ' + unit if unit else ''}")
        return None


def check_window(window: Window | None, grid: Grid) -> Window:
    """``window`` as integer offsets inside ``grid`` (the whole grid for None); ValueError if it
    lies outside."""
    if window is None:
        return Window(0, 0, grid.width, grid.height)
    if not isinstance(window, Window):
        window = Window(*window)
    col, row, width, height = (int(window.col_off), int(window.row_off), int(window.width),
                               int(window.height))
    if col < 0 or row < 0 or width < 0 or height < 0 or col + width > grid.width \
            or row + height > grid.height:
        raise ValueError(f"window {window} lies outside the {grid.width}×{grid.height} grid")
    return Window(col, row, width, height)

