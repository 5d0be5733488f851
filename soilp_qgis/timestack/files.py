"""Naming and finding a stack's file: ``file.nc:variable`` forms, NetCDF or GDAL raster, one-line
messages from library exceptions."""

from __future__ import annotations

import os
import re

from ..errors import InputError

NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5")


def split_source(path: str | os.PathLike, variable: str | None) -> tuple[str, str | None]:
    """(file, variable) from ``file.nc`` + variable, ``file.nc:variable`` or GDAL's
    ``NETCDF:"file.nc":variable``."""
    text = os.fspath(path)
    gdal = re.match(r'^NETCDF:"?(.*?)"?:([^:"]+)$', text, flags=re.IGNORECASE)
    if gdal:
        return gdal.group(1), variable or gdal.group(2)
    if not os.path.exists(text) and ":" in text:
        head, _, tail = text.rpartition(":")
        if head.lower().endswith(NETCDF_SUFFIXES) and tail and "/" not in tail and "\\" not in tail:
            return head, variable or tail
    return text, variable


def is_netcdf(path: str) -> bool:
    """A NetCDF (classic or NetCDF-4/HDF5) file, by its suffix or its first bytes."""
    if path.lower().endswith(NETCDF_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError:
        return False
    return magic[:3] == b"CDF" or magic == b"\x89HDF\r\n\x1a\n"


def check_exists(path: str) -> None:
    """An InputError naming ``path`` when it is missing or a folder."""
    if not os.path.exists(path):
        raise InputError(f"{path}: file not found")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a raster file")


def short_error(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none), at most 200 chars."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
