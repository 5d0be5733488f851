"""``align_grid``: resample a time stack onto a reference raster's grid (soilp:aligngrid).

Parameters: ``input`` (time stack), ``reference`` (a raster whose CRS and grid to match),
``resampling`` (average | bilinear | nearest | mode; average for coarsening), ``output``.
Band dates, time scale and units are kept. The target grid is filled in strips of rows, each from
the source rows it needs plus a margin, so memory stays bounded for long stacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from .. import contract
from ..contract import FileOutput, StepParameters
from ..errors import InputError
from ..prepare import RESAMPLING, align_to_grid
from ..protocol import Reporter
from ..timestack import Grid, StackInfo, open_stack_writer, read_stack
from ._inputs import open_stack, reference_grid
from .outputs import StepOutputs, engine_step


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``align_grid`` (soilp:aligngrid)."""

    STEP = "align_grid"

    input: str = contract.stack()
    reference: str = contract.raster()
    resampling: str = contract.choice(RESAMPLING, "average")
    output: str = contract.raster_output(required=True)


OUTPUTS = (FileOutput("output", "stack", "the stack on the reference grid, dates kept"),)

#: source cells read beyond a strip's footprint on each side (covers bilinear kernels, edges)
MARGIN = 2
#: float32 values of the source read at once, about 256 MB
BLOCK_VALUES = 64 * 1024 * 1024


def source_window(source: Grid, target: Grid, margin: int = MARGIN) -> Window | None:
    """The window of ``source`` that covers ``target`` (plus ``margin`` cells); None if disjoint."""
    west, south, east, north = target.bounds
    if source.crs is not None and target.crs is not None and source.crs != target.crs:
        west, south, east, north = transform_bounds(target.crs, source.crs, west, south, east,
                                                    north, densify_pts=21)
    window = from_bounds(west, south, east, north, transform=source.transform)
    col0 = max(0, math.floor(window.col_off) - margin)
    row0 = max(0, math.floor(window.row_off) - margin)
    col1 = min(source.width, math.ceil(window.col_off + window.width) + margin)
    row1 = min(source.height, math.ceil(window.row_off + window.height) + margin)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def align_stack(info: StackInfo, target: Grid, resampling: str, writer,
                report: Reporter, block_values: int = BLOCK_VALUES) -> None:
    """Resample every band of ``info`` onto ``target`` strip by strip into ``writer``."""
    footprint = source_window(info.grid, target, margin=0)
    source_rows_per_row = footprint.height / target.height if footprint is not None else 1.0
    row_values = info.count * info.grid.width * max(source_rows_per_row, 1e-3)
    rows_per_strip = max(1, int(block_values / row_values))
    strips = range(0, target.height, rows_per_strip)
    for done, row in enumerate(strips):
        strip = Window(0, row, target.width, min(rows_per_strip, target.height - row))
        strip_grid = target.window_grid(strip)
        window = source_window(info.grid, strip_grid)
        if window is None:
            values = np.full((info.count, strip_grid.height, strip_grid.width), np.nan, np.float32)
        else:
            values = align_to_grid(read_stack(info, window=window),
                                   info.grid.window_grid(window), strip_grid, resampling)
        writer.write(values, window=strip)
        report.progress((done + 1) / len(strips))


@engine_step(Parameters, OUTPUTS)
def align_grid(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Resample ``input`` onto the grid of ``reference`` with ``resampling``; write ``output``."""
    info = open_stack(p)
    name = info.name
    reference = str(p.reference)
    resampling = p.resampling
    target = reference_grid(reference)
    if source_window(info.grid, target) is None:
        raise InputError(f"{name} does not overlap the grid of {reference}")
    difference = info.grid.same_as(target)
    report.info(f"{name}: {info.count} bands, {info.grid.width}×{info.grid.height} cells → "
                f"{target.width}×{target.height} cells by {resampling} resampling"
                + (f" ({difference})" if difference else " (already on the reference grid)"))
    with open_stack_writer(outputs.path("output"), target, info.dates, info.time_scale,
                           info.units, description=f"{name} resampled ({resampling}) to the "
                                                   f"grid of {reference}") as writer:
        align_stack(info, target, resampling, writer, report.sub(0.0, 0.98))
    return {"OUTPUT": p.output, "BANDS": info.count, "WIDTH": target.width,
            "HEIGHT": target.height}
