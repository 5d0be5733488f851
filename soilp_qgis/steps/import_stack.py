"""``import_stack``: a product file (NetCDF, GRIB, GeoTIFF…) as a soilp time stack
(soilp:importstack).

Parameters: ``input`` (file), ``variable`` (optional when the file holds one), ``crs`` (optional:
the grid's CRS when the file declares none, or to replace it), ``grid`` (optional: a raster on the
same cells, for files whose coordinates are missing or wrong), ``units`` (optional target units),
``start`` / ``end`` (optional first and last date kept), ``output`` (GeoTIFF time stack).

The readers of :mod:`soilp_qgis.timestack` normalise what real products do (0–360° longitudes,
latitude either way, packed integers, fill values and valid ranges, CF time in any calendar and
stamp position, the CRS from the file or given); this step writes the result as a north-up stack
with band dates, time scale and units, converted by :mod:`soilp_qgis.units` when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from .. import contract
from ..contract import FileOutput, StepParameters
from ..errors import InputError
from ..protocol import Reporter
from ..timestack import (
    StackInfo,
    format_date,
    open_stack_writer,
    parse_date,
    read_stack,
    read_stack_info,
)
from ..timestack.grid import crs_label
from ..units import unit_converter
from ._inputs import reference_grid
from .outputs import StepOutputs, engine_step


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``import_stack`` (soilp:importstack)."""

    STEP = "import_stack"

    input: str = contract.file()
    variable: str | None = contract.text()
    crs: str | None = contract.crs()
    units: str | None = contract.text()
    start: str | None = contract.text()
    end: str | None = contract.text()
    grid: str | None = contract.raster(required=False)
    output: str = contract.raster_output(required=True)


OUTPUTS = (FileOutput("output", "stack", "the variable as a north-up time stack, band i dated by "
                                         "its period's first day, units in its metadata"),)

#: float32 values read at once, about 256 MB
BLOCK_VALUES = 64 * 1024 * 1024


def period_steps(info: StackInfo, start: str | None, end: str | None) -> np.ndarray:
    """Indices of the time steps whose period starts within ``start``…``end`` (ISO dates, either
    may be empty); an InputError naming START/END when none is left."""
    keep = np.ones(info.count, dtype=bool)
    for key, text, inside in (("START", start, np.greater_equal), ("END", end, np.less_equal)):
        if not text:
            continue
        date = parse_date(text)
        if date is None:
            raise InputError(f"{key} {text!r} is not a date like 1990-01-01 or 1990-01")
        keep &= inside(info.dates, date)
    steps = np.flatnonzero(keep)
    if steps.size == 0:
        raise InputError(f"no time step of {info.name} ({format_date(info.dates[0])} to "
                         f"{format_date(info.dates[-1])}) lies between START {start or '…'} and "
                         f"END {end or '…'}")
    return steps


def _what_was_done(info: StackInfo) -> list[str]:
    source = info.source
    notes = []
    if getattr(source, "cols", None) is not None and source.cols.shift:
        notes.append("longitudes rolled from 0–360° to −180…180°")
    if getattr(source, "rows", None) is not None and source.rows.flip:
        notes.append("rows flipped to north-up (latitude ascending in the file)")
    if getattr(source, "valid", None) is not None:
        notes.append("values outside valid_range set to nodata")
    return notes


def grid_offset_warning(info: StackInfo) -> str | None:
    """With GRID given: a warning when the file's own coordinates are not GRID's cell centres."""
    offset = getattr(info.source, "offset_from_grid", None)
    if offset is None or max(abs(v) for v in offset) <= 1e-3:
        return None
    return (f"{info.name}: the file's own x/y of its north-west cell lie {offset[0]:+.3g} "
            f"(x), {offset[1]:+.3g} (y) cells from GRID's cell centre; GRID's cells are used "
            "(±0.5 means the file gives cell corners)")


@engine_step(Parameters, OUTPUTS)
def import_stack(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Read ``input`` (one ``variable``) and write it as the time stack ``output``."""
    grid = reference_grid(p.grid) if p.grid else None
    info = read_stack_info(p.input, variable=p.variable or None, crs=p.crs or None, grid=grid)
    info.name = f"INPUT ({Path(info.path).name}{':' + info.variable if info.variable else ''})"
    if info.grid.crs is None:
        raise InputError(f"{info.name} declares no CRS; give the grid's CRS in the CRS parameter")
    steps = period_steps(info, p.start, p.end)
    dates = info.dates[steps]

    target = (p.units or "").strip()
    convert = None
    units = info.units
    if target and not info.units:
        report.warning(f"{info.name} declares no units: its values are labelled {target!r} "
                       "as they are, not converted")
        units = target
    elif target:
        convert = unit_converter(info.units, target, dates, info.time_scale)
        units = target

    warning = grid_offset_warning(info)
    if warning:
        report.warning(warning)
    notes = _what_was_done(info)
    report.info(f"{info.name}: {len(steps)} {info.time_scale} steps {format_date(dates[0])} to "
                f"{format_date(dates[-1])}, {info.grid.width}×{info.grid.height} cells, "
                f"{crs_label(info.grid.crs)}, units {info.units or 'none'}"
                + (f" → {units}" if convert else "")
                + ("; " + "; ".join(notes) if notes else ""))

    rows_per_strip = max(1, BLOCK_VALUES // max(1, len(steps) * info.grid.width))
    strips = range(0, info.grid.height, rows_per_strip)
    with open_stack_writer(outputs.path("output"), info.grid, dates, info.time_scale, units,
                           description=f"{info.variable or Path(info.path).stem} imported from "
                                       f"{Path(info.path).name}") as writer:
        for done, row in enumerate(strips):
            window = Window(0, row, info.grid.width, min(rows_per_strip, info.grid.height - row))
            values = read_stack(info, window=window, time=steps)
            if convert is not None:
                values = convert(values).astype(np.float32)
            writer.write(values, window=window)
            report.progress((done + 1) / len(strips))
    return {"OUTPUT": p.output, "VARIABLE": info.variable or "", "BANDS": int(len(steps)),
            "TIME_SCALE": info.time_scale, "FIRST_DATE": str(dates[0]),
            "LAST_DATE": str(dates[-1]), "UNITS": units, "CRS": crs_label(info.grid.crs)}
