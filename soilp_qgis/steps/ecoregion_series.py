"""``ecoregion_series``: mean of a time stack over each ecoregion at each date
(soilp:ecoregionseries).

Parameters: ``input`` (time stack), ``ecoregions`` (polygon layer, rasterized onto the stack's
grid by ``field``, default ``BIOME``) or ``ecoregions_raster`` (integer raster on the stack's grid),
``output`` (CSV with the columns ``ecoregion, date, mean, valid_cells``). The mean is over the
ecoregion's cells with a value at that date (unweighted); ``nan`` where none has one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import contract
from ..blocks import plan_blocks
from ..contract import FileOutput, StepParameters
from ..ecoregions import ecoregion_totals, series_from_totals
from ..errors import InputError
from ..protocol import Reporter
from ..timestack import read_stack
from ._inputs import open_stack
from .common import ecoregion_codes
from .outputs import StepOutputs, engine_step


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``ecoregion_series`` (soilp:ecoregionseries)."""

    STEP = "ecoregion_series"

    input: str = contract.stack()
    ecoregions: str | None = contract.vector()
    field: str | None = contract.field_name()
    ecoregions_raster: str | None = contract.raster(required=False)
    output: str = contract.file_output(required=True)


OUTPUTS = (FileOutput("output", "csv", "ecoregion, date, mean, valid_cells"),)
COLUMNS = ("ecoregion", "date", "mean", "valid_cells")

#: float32 values read per block (time × cells)
BLOCK_VALUES = 32 * 1024 * 1024


@engine_step(Parameters, OUTPUTS)
def ecoregion_series(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Mean of ``input`` over each ecoregion per date; write ``output`` (CSV)."""
    info = open_stack(p)
    codes = ecoregion_codes(p, info.grid)
    if codes is None:
        raise InputError("ECOREGIONS (polygon layer) or ECOREGIONS_RASTER is required")
    ecoregions = np.unique(codes[codes > 0]).astype(np.int64)
    if ecoregions.size == 0:
        raise InputError(f"no cell of {info.name} lies in an ecoregion: check that the "
                         "ecoregions cover the stack")
    report.info(f"{info.name}: {info.count} dates over {ecoregions.size} ecoregions")
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
    series = series_from_totals(ecoregions, sums, counts, info.dates)
    outputs.csv("output", [{"ecoregion": int(code), "date": str(date), "mean": float(mean),
                            "valid_cells": int(count)} for code, date, mean, count in zip(*series)],
                COLUMNS)
    return {"OUTPUT": p.output, "ECOREGIONS": [int(c) for c in ecoregions], "DATES": info.count}
