"""What a time stack is without its values (:class:`StackInfo`), and the interface every format's
reader offers (:class:`Source`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from rasterio.windows import Window

from .dates import format_date
from .grid import Grid


class Source(Protocol):
    """A format's reader of one stack (picklable: it travels to worker processes).

    ``describe(path, variable, crs=...)`` (a classmethod) opens a file and returns its
    :class:`StackInfo` holding the source; ``read(window, steps)`` returns the north-up ``window``
    at time indices ``steps`` as float32 ``(steps, rows, cols)``, NaN where missing."""

    block_shape: tuple[int, int]

    def read(self, window: Window, steps: np.ndarray) -> np.ndarray: ...


@dataclass
class StackInfo:
    """What a time stack is, without its values: where, which grid, which dates, what units."""

    path: str
    variable: str | None
    grid: Grid
    dates: np.ndarray  # datetime64[D], the first day of each period
    time_scale: str
    units: str
    nodata: float | None
    name: str
    #: the format's reader that knows how to get the values (band numbers, NetCDF dimensions,
    #: row and column order); None for an info made by hand
    source: Source | None = field(default=None, repr=False, compare=False)

    @property
    def count(self) -> int:
        """Number of time steps."""
        return int(len(self.dates))

    @property
    def block_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the storage tiles/chunks: reading whole ones is fastest."""
        shape = self.source.block_shape if self.source is not None else None
        return tuple(shape or (1, self.grid.width))

    def date_labels(self) -> list[str]:
        """The dates as text at the stack's time scale (``2001-01`` for monthly)."""
        return [format_date(d, self.time_scale) for d in self.dates]
