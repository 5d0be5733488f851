"""Opening a time stack whatever its format, and reading its values."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from rasterio.windows import Window

from .files import check_exists, is_netcdf, split_source
from .geotiff import GeoTiffSource
from .grid import Grid, check_window
from .info import StackInfo
from .netcdf import NetCDFSource


def read_stack_info(path: str | os.PathLike, variable: str | None = None,
                    name: str | None = None, crs: Any = None, grid: Grid | None = None
                    ) -> StackInfo:
    """Describe a time stack: a multiband GeoTIFF (band dates from band descriptions or tags) or a
    NetCDF variable with CF time (``path`` + ``variable``, ``path.nc:variable``, or the file's only
    data variable). ``crs`` replaces the CRS the file declares (for files that declare none);
    ``grid`` replaces the file's coordinates (a grid of the same rows and columns, for files whose
    coordinates are missing or wrong). Geographic grids come out with longitudes in −180…180°
    whenever their cells fit there side by side. Raises :class:`InputError` naming the file for
    anything unusable."""
    path, variable = split_source(path, variable)
    check_exists(path)
    source = NetCDFSource if is_netcdf(path) else GeoTiffSource
    info = source.describe(path, variable, crs=crs, grid=grid)
    if name:
        info.name = name
    return info


def _time_indices(time: slice | Sequence[int] | np.ndarray | None, count: int) -> np.ndarray:
    if time is None:
        return np.arange(count)
    if isinstance(time, slice):
        return np.arange(count)[time]
    indices = np.asarray(time, dtype=np.int64).ravel()
    if indices.size and (indices.min() < -count or indices.max() >= count):
        raise ValueError(f"time index out of range for a stack of {count} time steps")
    return indices % count if indices.size else indices


def read_stack(path_or_info: str | os.PathLike | StackInfo, window: Window | None = None,
               variable: str | None = None,
               time: slice | Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Values of a time stack as float32 ``(time, rows, cols)``, north-up, NaN where missing.

    ``window`` (a rasterio ``Window(col_off, row_off, width, height)`` in the north-up grid) reads
    one block; ``time`` (a slice or indices) reads some time steps only."""
    info = path_or_info if isinstance(path_or_info, StackInfo) \
        else read_stack_info(path_or_info, variable=variable)
    window = check_window(window, info.grid)
    steps = _time_indices(time, info.count)
    source = info.source
    if source is None:  # an info made by hand: describe its file
        source = read_stack_info(info.path, info.variable).source
    return np.ascontiguousarray(source.read(window, steps), dtype=np.float32)
