"""Helpers the preparation steps share beyond ``steps/common.py``: numbers, a single input stack
named by its parameter and file, reference grids."""

from __future__ import annotations

import os
from pathlib import Path

from rasterio.windows import Window

from ..errors import InputError
from ..timestack import Grid, StackInfo, read_raster, read_stack_info
from .common import required


def number(params: dict, key: str, default: float) -> float:
    """A numeric parameter, ``default`` when unset."""
    value = params.get(key)
    if value is None or value == "":
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"parameter {key.upper()} must be a number; got {value!r}") from None


def open_stack(params: dict, key: str = "input") -> StackInfo:
    """The time stack of parameter ``key`` (``path`` or ``file.nc:variable``), named in messages
    by the parameter and the file: ``INPUT (rr_2000.nc:rr)``."""
    info = read_stack_info(str(required(params, key)), variable=params.get("variable") or None)
    file_name = Path(info.path).name + (f":{info.variable}" if info.variable else "")
    info.name = f"{key.upper()} ({file_name})"
    return info


def reference_grid(path: str | os.PathLike) -> Grid:
    """The grid of a reference raster: a time stack (GeoTIFF or NetCDF) or any one raster."""
    try:
        return read_stack_info(path).grid
    except InputError:
        return read_raster(path, window=Window(0, 0, 1, 1))[1]
