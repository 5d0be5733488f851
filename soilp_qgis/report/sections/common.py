"""What every report section uses: numbers as text, CSV rows, the shared context (folder,
figures, land outline) and rasters read as maps."""

from __future__ import annotations

import csv
import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...ecoregions import is_vector, load_ecoregions
from ...protocol import Reporter
from ...timestack import Grid, read_raster
from ..figures import MapRaster, Outline, outline_segments

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
    ecoregions: str | None = None
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

    def outline(self, rasters: Sequence[MapRaster | None]) -> Outline | None:
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

    def _ecoregion_outline(self, grid: Grid) -> Outline | None:
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


def read_map(path: Path) -> MapRaster | None:
    """Band 1 of a raster as a map, or None when the file is not there."""
    if not path.is_file():
        return None
    values, grid = read_raster(path)
    return MapRaster(values[0], grid)


def read_composite(path: Path) -> MapRaster | None:
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


def _outline_note(outline: Outline | None) -> str:
    return f" Outline: {outline.source}." if outline is not None and outline.source else ""
