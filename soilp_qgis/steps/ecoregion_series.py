"""``ecoregion_series``: mean of a time stack over each ecoregion at each date (soilp:ecoregionseries).

Parameters: ``input`` (time stack), ``ecoregions`` (integer raster on the stack's grid, or a
polygon layer rasterized by ``field``, default ``BIOME``), ``output`` (CSV with the columns
``ecoregion, date, mean, valid_cells``). The mean is over the ecoregion's cells with a value at
that date (unweighted); it is empty where none has one.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import numpy as np

from ..blocks import plan_blocks
from ..ecoregions import EcoregionSeries, ecoregion_totals, load_ecoregions, series_from_totals
from ..errors import InputError
from ..protocol import Reporter
from ..timestack import read_stack
from ._inputs import open_stack, required

COLUMNS = ("ecoregion", "date", "mean", "valid_cells")
#: cells per block read: a block holds time × cells float32 values
BLOCK_VALUES = 32 * 1024 * 1024


def write_series_csv(path: str | os.PathLike, series: EcoregionSeries) -> Path:
    """Write the rows as CSV (``ecoregion, date, mean, valid_cells``; empty mean = no value)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: the output folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".partial.csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for code, date, mean, count in zip(*series):
                writer.writerow([int(code), str(date), "" if np.isnan(mean) else repr(float(mean)),
                                 int(count)])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def ecoregion_series(params: dict, report: Reporter) -> dict:
    """Mean of ``input`` over each ecoregion of ``ecoregions`` per date; write ``output`` (CSV)."""
    info, name = open_stack(params)
    output = str(required(params, "output"))
    field = str(params.get("field") or "BIOME")
    codes = load_ecoregions(str(required(params, "ecoregions")), info.grid, field=field)
    ecoregions = np.unique(codes[codes > 0]).astype(np.int64)
    if ecoregions.size == 0:
        raise InputError(f"no cell of {name} lies in an ecoregion: check that the ecoregion "
                         "layer covers the stack")
    report.info(f"{name}: {info.count} dates over {ecoregions.size} ecoregions")
    report.progress(0.05)
    sums = np.zeros((ecoregions.size, info.count))
    counts = np.zeros((ecoregions.size, info.count), dtype=np.int64)
    windows = plan_blocks(info.grid.height, info.grid.width, max(1, BLOCK_VALUES // info.count))
    for done, window in enumerate(windows):
        rows = slice(int(window.row_off), int(window.row_off + window.height))
        if (codes[rows] > 0).any():
            present, block_sums, block_counts = ecoregion_totals(read_stack(info, window=window),
                                                                 codes[rows])
            slot = np.searchsorted(ecoregions, present)
            sums[slot] += block_sums
            counts[slot] += block_counts
        report.progress(0.05 + 0.9 * (done + 1) / len(windows))
    write_series_csv(output, series_from_totals(ecoregions, sums, counts, info.dates))
    return {"OUTPUT": output, "ECOREGIONS": [int(c) for c in ecoregions], "DATES": info.count}
