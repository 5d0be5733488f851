"""Checking that stacks used together share CRS, grid, time scale and time steps."""

from __future__ import annotations

import numpy as np

from ..errors import StackMismatchError
from .dates import format_date
from .info import StackInfo


def check_stacks_match(*infos: StackInfo, check_time: bool = True) -> None:
    """Raise :class:`StackMismatchError` naming the first difference (CRS, grid, time scale, time
    steps) between the first stack and any other, using each stack's ``name``."""
    if len(infos) < 2:
        return
    first = infos[0]
    for other in infos[1:]:
        difference = first.grid.same_as(other.grid)
        if difference:
            raise StackMismatchError(f"{first.name} and {other.name} have {difference}")
        if not check_time:
            continue
        if first.time_scale != other.time_scale:
            raise StackMismatchError(f"{first.name} is {first.time_scale}, {other.name} "
                                     f"{other.time_scale}; aggregate one to the other's time scale")
        a = np.asarray(first.dates, dtype="datetime64[D]")
        b = np.asarray(other.dates, dtype="datetime64[D]")
        if len(a) == len(b) and np.array_equal(a, b):
            continue
        n = min(len(a), len(b))
        differs = np.nonzero(a[:n] != b[:n])[0]
        if differs.size:
            i = int(differs[0])
            at = min(a[i], b[i])
        else:
            i = n
            at = a[n] if len(a) > n else b[n]
        scale = first.time_scale
        where = format_date(at, scale)
        if len(a) != len(b):
            raise StackMismatchError(f"{first.name} has {len(a)} time steps, {other.name} "
                                     f"{len(b)}; first difference at {where}")
        raise StackMismatchError(
            f"{first.name} and {other.name} have different time steps: first difference at "
            f"{where} ({first.name} {format_date(a[i], scale)}, "
            f"{other.name} {format_date(b[i], scale)})")
