"""Helpers the preparation steps share beyond ``steps/common.py``: a single input stack named by
its parameter and file, reference grids."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasterio.windows import Window

from ..errors import InputError
from ..timestack import Grid, StackInfo, read_raster, read_stack_info


def open_stack(p: Any, key: str = "input") -> StackInfo:
    """The time stack of parameter ``key`` (``path`` or ``file.nc:variable``), named in messages
    by the parameter and the file: ``INPUT (rr_2000.nc:rr)``."""
    info = read_stack_info(str(getattr(p, key)))
    file_name = Path(info.path).name + (f":{info.variable}" if info.variable else "")
    info.name = f"{key.upper()} ({file_name})"
    return info


def reference_grid(path: str | os.PathLike) -> Grid:
    """The grid of a reference raster: a time stack (GeoTIFF or NetCDF) or any one raster."""
    try:
        return read_stack_info(path).grid
    except InputError:
        return read_raster(path, window=Window(0, 0, 1, 1))[1]
