"""What the engine steps share: opening and matching the input stacks, choosing a season's
time steps, reading the ecoregions, per-ecoregion summary tables, the worker count, and the
parameters several steps declare alike. ``p`` is a step's parameters (``contract``)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import contract
from ..blocks import BlockInput, default_processes
from ..ecoregions import load_ecoregions
from ..errors import InputError
from ..seasons import season_name
from ..tables import biome_names
from ..timestack import StackInfo, check_stacks_match, read_stack_info

SEASONS = ("all", "MAM", "JJA", "SON", "DJF")


# ---- parameters several steps declare alike (as processing_algs/parameters.py) ---------------

def season_parameter() -> Any:
    return contract.choice(SEASONS, "all")


def processes_parameter() -> Any:
    """PROCESSES: worker processes, 0 = every core."""
    return contract.integer(0, minimum=0)


def min_observations_parameter(default: int) -> Any:
    return contract.integer(default, minimum=3)


# ---- inputs ------------------------------------------------------------------------------------

def open_stacks(p: Any, keys: Sequence[str], optional: Sequence[str] = ()
                ) -> dict[str, StackInfo]:
    """Open the stacks named by ``keys`` (and ``optional`` ones when given) and check they share
    CRS, grid and time steps; each is named by its parameter (``SOIL_MOISTURE``) in messages."""
    infos = {}
    for key in list(keys) + [k for k in optional if getattr(p, k)]:
        infos[key] = read_stack_info(str(getattr(p, key)), name=key.upper())
    check_stacks_match(*infos.values())
    return infos


def season_time_steps(info: StackInfo, season: str | None) -> np.ndarray | None:
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


def block_inputs(infos: Mapping[str, StackInfo], season: str | None = None,
                 min_observations: int | None = None) -> dict[str, BlockInput]:
    """Executor inputs for matched stacks, restricted to ``season``. A series shorter than
    ``min_observations`` time steps is refused here, before any block is read: no cell could be
    computed whatever the data."""
    first = next(iter(infos.values()))
    steps = season_time_steps(first, season)
    count = first.count if steps is None else int(steps.size)
    if min_observations is not None and count < min_observations:
        kept = "the stacks have" if steps is None else f"SEASON {season} keeps"
        raise InputError(f"{kept} {count} time steps of {first.name}, fewer than "
                         f"MIN_OBSERVATIONS {min_observations}: no cell can be computed (give a "
                         f"longer series or lower MIN_OBSERVATIONS)")
    return {key: BlockInput(info, steps) for key, info in infos.items()}


def processes(p: Any) -> int:
    """Worker processes: the PROCESSES parameter, 0 meaning every core."""
    return int(p.processes) or default_processes()


def ecoregion_codes(p: Any, grid, report: Any | None = None) -> np.ndarray | None:
    """Ecoregion code per cell from ECOREGIONS (polygons + FIELD) or ECOREGIONS_RASTER; None if
    neither is given. A warning to ``report`` when no ecoregion lies on the grid."""
    if getattr(p, "ecoregions", None):
        codes = load_ecoregions(str(p.ecoregions), grid, field=p.field or "BIOME")
        source = f"ECOREGIONS {p.ecoregions}"
    elif getattr(p, "ecoregions_raster", None):
        codes = load_ecoregions(str(p.ecoregions_raster), grid)
        source = f"ECOREGIONS_RASTER {p.ecoregions_raster}"
    else:
        return None
    if report is not None and not (codes > 0).any():
        report.warning(f"no ecoregion of {source} overlaps the stacks' grid: the table has only "
                       f"the row 'all'")
    return codes


def ecoregion_label(code: int) -> str:
    """How an ecoregion code is named in tables: its biome name where it is a WWF biome code."""
    name = biome_names().get(int(code))
    return f"{int(code)} {name}" if name else str(int(code))


def summarise_by_ecoregion(codes: np.ndarray | None, valid: np.ndarray,
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


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]],
              columns: Sequence[str] | None = None) -> Path:
    """Write rows (dicts with the same keys) as CSV, atomically; floats with 6 significant digits.
    The header is ``columns`` (default: the first row's keys); a table is never written without
    one."""
    path = Path(path)
    columns = list(columns) if columns is not None else list(rows[0].keys()) if rows else []
    if not columns:
        raise ValueError(f"{path.name}: a table needs its columns")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
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
