"""What the engine steps share: opening and matching the input stacks, choosing a season's
time steps, reading the ecoregions, per-ecoregion summary tables, the worker count."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from ..blocks import BlockInput, default_processes
from ..ecoregions import load_ecoregions
from ..errors import InputError
from ..seasons import season_name
from ..tables import biome_names
from ..timestack import StackInfo, check_stacks_match, read_stack_info

SEASONS = ("all", "MAM", "JJA", "SON", "DJF")


def required(params: Mapping[str, Any], key: str) -> Any:
    """A parameter that must be given; an InputError naming it (upper case, as in QGIS) if not."""
    value = params.get(key)
    if value is None or value == "":
        raise InputError(f"{key.upper()} is required")
    return value


def open_stacks(params: Mapping[str, Any], keys: Sequence[str],
                optional: Sequence[str] = ()) -> dict[str, StackInfo]:
    """Open the stacks named by ``keys`` (and ``optional`` ones when given) and check they share
    CRS, grid and time steps; each is named by its parameter (``SOIL_MOISTURE``) in messages."""
    infos = {}
    for key in list(keys) + [k for k in optional if params.get(k)]:
        infos[key] = read_stack_info(required(params, key), name=key.upper())
    check_stacks_match(*infos.values())
    return infos


def season_time_steps(info: StackInfo, season: Optional[str]) -> Optional[np.ndarray]:
    """Indices of the steps of ``season`` (None for all): for monthly stacks that season's months
    of every year, for seasonal stacks that season's values."""
    if not season or season == "all":
        return None
    if season not in SEASONS:
        raise InputError(f"SEASON {season!r} is not one of {', '.join(SEASONS)}")
    if info.time_scale in ("annual",):
        raise InputError(f"SEASON {season} cannot be taken from {info.name}: it is an annual stack")
    steps = np.flatnonzero(season_name(info.dates) == season)
    if steps.size == 0:
        raise InputError(f"{info.name} has no time step in season {season}")
    return steps


def block_inputs(infos: Mapping[str, StackInfo], season: Optional[str] = None
                 ) -> dict[str, BlockInput]:
    """Executor inputs for matched stacks, restricted to ``season``."""
    first = next(iter(infos.values()))
    steps = season_time_steps(first, season)
    return {key: BlockInput(info, steps) for key, info in infos.items()}


def processes(params: Mapping[str, Any]) -> int:
    """Worker processes: the PROCESSES parameter, 0 or empty meaning every core."""
    value = params.get("processes")
    if value in (None, "", 0):
        return default_processes()
    if int(value) < 0:
        raise InputError(f"PROCESSES must be 0 (all cores) or more, not {value}")
    return int(value)


def ecoregion_codes(params: Mapping[str, Any], grid) -> Optional[np.ndarray]:
    """Ecoregion code per cell from ECOREGIONS (polygons + FIELD) or ECOREGIONS_RASTER; None if
    neither is given."""
    vector = params.get("ecoregions")
    raster = params.get("ecoregions_raster")
    if vector:
        return load_ecoregions(vector, grid, field=params.get("field") or "BIOME")
    if raster:
        return load_ecoregions(raster, grid)
    return None


def ecoregion_label(code: int) -> str:
    """How an ecoregion code is named in tables: its biome name where it is a WWF biome code."""
    name = biome_names().get(int(code))
    return f"{int(code)} {name}" if name else str(int(code))


def summarise_by_ecoregion(codes: Optional[np.ndarray], valid: np.ndarray,
                           summarise: Callable[[np.ndarray], dict[str, Any]]
                           ) -> list[dict[str, Any]]:
    """One row per ecoregion present among the valid cells, then a row ``all``.

    ``summarise(mask)`` computes the row's columns over the cells of ``mask`` (a boolean array of
    the grid's shape); the row starts with ``ecoregion`` and ``valid_cells``."""
    rows = []
    if codes is not None:
        for code in np.unique(codes[valid & (codes > 0)]):
            mask = valid & (codes == code)
            rows.append({"ecoregion": ecoregion_label(code), "valid_cells": int(mask.sum()),
                         **summarise(mask)})
    rows.append({"ecoregion": "all", "valid_cells": int(valid.sum()), **summarise(valid)})
    return rows


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write rows (dicts with the same keys) as CSV, atomically; floats with 6 significant digits."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    columns = list(rows[0].keys()) if rows else []
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: (f"{value:.6g}" if isinstance(value, (float, np.floating))
                                   else value) for key, value in row.items()})
    os.replace(tmp, path)
    return path


def write_geopackage(frame, path: str | os.PathLike, layer: str) -> Path:
    """Write a GeoDataFrame as a GeoPackage layer, atomically; GeoPackage 1.2 so that the older
    GDAL of QGIS 3.22 (Debian 12) reads it without warnings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.gpkg")
    if tmp.exists():
        tmp.unlink()
    frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio",
                  dataset_options={"VERSION": "1.2"})
    os.replace(tmp, path)
    return path
