"""Small helpers the preparation steps share: parameters, stack names, reference grids."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasterio.windows import Window

from ..errors import InputError
from ..timestack import Grid, StackInfo, read_raster, read_stack_info


def required(params: dict, key: str) -> Any:
    """The value of parameter ``key`` (lower-case, as the plugin sends it); an error if unset."""
    value = params.get(key)
    if value is None or value == "":
        raise InputError(f"parameter {key.upper()} is required")
    return value


def number(params: dict, key: str, default: float) -> float:
    """A numeric parameter, ``default`` when unset."""
    value = params.get(key)
    if value is None or value == "":
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"parameter {key.upper()} must be a number; got {value!r}") from None


def stack_name(info: StackInfo) -> str:
    """How a stack is named in messages: its file name, with the NetCDF variable if any."""
    name = Path(info.path).name
    return f"{name}:{info.variable}" if info.variable else name


def open_stack(params: dict, key: str = "input") -> tuple[StackInfo, str]:
    """The time stack of parameter ``key`` (``path`` or ``file.nc:variable``) and its name."""
    info = read_stack_info(str(required(params, key)), variable=params.get("variable") or None)
    return info, stack_name(info)


def reference_grid(path: str | os.PathLike) -> Grid:
    """The grid of a reference raster: a time stack (GeoTIFF or NetCDF) or any one raster."""
    try:
        return read_stack_info(path).grid
    except InputError:
        return read_raster(path, window=Window(0, 0, 1, 1))[1]
