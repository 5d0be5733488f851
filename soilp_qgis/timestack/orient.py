"""North-up order: where each row and column of a stack's north-up grid lies in its file.

Files store rows south first (ascending latitude), columns east to west, or longitudes 0–360° that
must be rolled to −180…180°. An :class:`AxisOrder` says, for one axis, which file index holds
north-up index ``i``: ``(i or size-1-i) + shift`` modulo ``size``. :func:`read_oriented` is the
one place that turns a north-up window into reads of the file and puts them together, for every
format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from ..errors import InputError
from .grid import clean_number


@dataclass(frozen=True)
class AxisOrder:
    """File index of north-up index ``i``: ``(size - 1 - i if flip else i) + shift`` modulo
    ``size``."""

    size: int
    flip: bool = False
    shift: int = 0

    def source_index(self, i: int) -> int:
        """The file index of north-up index ``i``."""
        base = self.size - 1 - i if self.flip else i
        return (base + self.shift) % self.size

    def runs(self, start: int, stop: int) -> list[tuple[slice, slice]]:
        """``(file slice, output slice)`` pairs covering north-up indices ``start:stop``; each
        file slice is read in file order and reversed when ``flip`` (at most two when rolled)."""
        runs, i = [], start
        while i < stop:
            s = self.source_index(i)
            if self.flip:  # file indices s, s-1, … down to 0
                length = min(stop - i, s + 1)
                source = slice(s - length + 1, s + 1)
            else:  # file indices s, s+1, … up to the end
                length = min(stop - i, self.size - s)
                source = slice(s, s + length)
            runs.append((source, slice(i - start, i - start + length)))
            i += length
        return runs

    def apply(self, values: np.ndarray, axis: int) -> np.ndarray:
        """A whole axis of file values put in north-up order."""
        index = np.array([self.source_index(i) for i in range(self.size)], dtype=np.int64)
        return np.take(values, index, axis=axis)


#: reads ``(time, rows, cols)`` values of the file's row and column slices (file order)
BlockReader = Callable[[slice, slice], np.ndarray]


def read_oriented(read: BlockReader, rows: AxisOrder, cols: AxisOrder, window: Window,
                  steps: int, dtype=np.float32) -> np.ndarray:
    """The north-up ``window`` of a file as ``(steps, rows, cols)`` of ``dtype``: each file block
    that ``rows`` and ``cols`` map the window to is read once and put in north-up order."""
    row0, col0 = int(window.row_off), int(window.col_off)
    height, width = int(window.height), int(window.width)
    out = np.empty((steps, height, width), dtype=dtype)
    if out.size == 0:
        return out
    for source_rows, out_rows in rows.runs(row0, row0 + height):
        for source_cols, out_cols in cols.runs(col0, col0 + width):
            block = read(source_rows, source_cols)
            if rows.flip:
                block = block[:, ::-1, :]
            if cols.flip:
                block = block[:, :, ::-1]
            out[:, out_rows, out_cols] = block
    return out


def _as_float(values: np.ndarray) -> np.ndarray:
    # float32 coordinates (0.1° grids) are read via their shortest decimal form: 53.1, not 53.0999…
    values = np.asarray(values)
    if values.dtype == np.float32:
        return np.array([float(str(v)) for v in values])
    return values.astype(np.float64)


def _checked(values: np.ndarray, what: str, axis_name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or len(values) < 2:
        raise InputError(f"{what}: needs at least 2 cells along {axis_name}")
    as_float = _as_float(values)
    if not np.all(np.isfinite(as_float)):
        raise InputError(f"{what}: the {axis_name} coordinate has missing values")
    return as_float


def _is_regular(values: np.ndarray) -> bool:
    step = (values[-1] - values[0]) / (len(values) - 1)
    return step != 0 and not np.any(np.abs(np.diff(values) - step) > 1e-3 * abs(step))


def regular_axis(values: np.ndarray, what: str, axis_name: str) -> tuple[float, float, AxisOrder]:
    """(first edge, positive cell size, order) of a regular 1-D coordinate of cell centres; the
    order puts the lowest coordinate first (flip when the file's coordinate descends)."""
    as_float = _checked(values, what, axis_name)
    if not _is_regular(as_float):
        raise InputError(f"{what}: the {axis_name} coordinate is not evenly spaced; only regular "
                         "grids are read")
    step = (as_float[-1] - as_float[0]) / (len(as_float) - 1)
    size = clean_number(abs(step))
    lowest = min(as_float[0], as_float[-1])
    return clean_number(lowest - size / 2), size, AxisOrder(len(as_float), flip=bool(step < 0))


def longitude_axis(values: np.ndarray, what: str) -> tuple[float, float, AxisOrder]:
    """Like :func:`regular_axis` for the longitudes of a geographic grid, rolled to −180…180°.

    A grid on 0–360° (global, or a crop across the Greenwich seam such as …, 356.25, 358.75,
    1.25, 3.75, …) comes out west to east from its westernmost cell in −180…180°; a grid already
    inside −180…180°, or one that only fits contiguously across 180° (a crop over the Pacific on
    0–360°), keeps its longitudes."""
    as_float = _checked(values, what, "longitude (x)")
    regular = _is_regular(as_float)
    if regular:
        west, size, order = regular_axis(values, what, "longitude (x)")
        if west + size * order.size <= 180.0 + 1e-6 * size:
            return west, size, order
    n = len(as_float)
    wrapped = np.mod(as_float + 180.0, 360.0) - 180.0
    index = np.argsort(wrapped, kind="stable")
    if _is_regular(wrapped[index]):
        step = wrapped[index[1]] - wrapped[index[0]]
        size = clean_number(abs(step))
        ascending = (index[1] - index[0]) % n == 1
        order = AxisOrder(n, flip=not ascending,
                          shift=int(index[0] if ascending else (index[0] + 1) % n))
        if all(order.source_index(i) == index[i] for i in range(n)):
            return clean_number(wrapped[index[0]] - size / 2), size, order
    if regular:
        return regular_axis(values, what, "longitude (x)")
    raise InputError(f"{what}: the longitude (x) coordinate is not evenly spaced, even with "
                     "0–360° longitudes rolled to −180…180°; only regular grids are read")
