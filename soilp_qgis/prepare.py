"""Preparation science: aggregate a time stack to a coarser time scale, align it to another grid.

Pure functions over numpy arrays (no file IO). ``aggregate_time`` works along the LAST axis, so it
takes a ``(cells, time)`` block as every science function does, or any ``(..., time)`` array
(a ``(rows, cols, time)`` view of a stack, ``np.moveaxis(stack, 0, -1)``, costs no copy).
``align_to_grid`` is spatial and takes a stack as read, ``(time, rows, cols)``. NaN = missing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import InputError
from .seasons import (
    MONTHS_PER_PERIOD,
    TIME_SCALES,
    as_days,
    check_time_scale,
    next_period_start,
    period_range,
    period_start,
)

#: statistics a period can be summarised by
STATISTICS = ("mean", "sum", "wet_day_count", "min", "max")
#: statistics that only make sense over daily values
DAILY_STATISTICS = ("wet_day_count",)
#: resampling methods of ``align_to_grid`` (``average`` for coarsening, ``mode`` for classes)
RESAMPLING = ("average", "bilinear", "nearest", "mode")


class Aggregated(NamedTuple):
    """Result of ``aggregate_time``; unpacks as ``values, dates, dropped``."""

    values: np.ndarray
    """float32 ``(..., periods)``: one value per cell and complete period, NaN where too few valid
    steps."""
    dates: np.ndarray
    """``datetime64[D]`` first day of each period kept (DJF is stamped with its December)."""
    dropped: np.ndarray
    """``datetime64[D]`` first day of each incomplete period at the ends that was left out."""


def _check_dates(dates, n_steps: int, name: str) -> np.ndarray:
    if dates is None or len(dates) == 0:
        raise InputError(f"{name} has no band dates: each band needs the date of its period "
                         "(band description YYYY-MM-DD or a CF time axis)")
    try:
        days = as_days(dates)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} has band dates that are not dates: {exc}") from None
    if np.isnat(days).any():
        raise InputError(f"{name} has a band without a date "
                         f"(band {int(np.isnat(days).argmax()) + 1})")
    if days.size != n_steps:
        raise InputError(f"{name} has {n_steps} time steps but {days.size} band dates")
    return days


def aggregate_time(data: np.ndarray, dates, source_scale: str, scale: str, statistic: str,
                   wet_day_threshold: float = 1.0, min_coverage: float = 0.9,
                   name: str = "the input stack") -> Aggregated:
    """Summarise each ``scale`` period (monthly, seasonal, annual) of a finer stack, per cell.

    ``data`` is ``(..., time)`` with time LAST (a ``(cells, time)`` block); ``dates`` the first
    day of each step, ``source_scale`` the stack's time scale (``daily``, ``monthly``,
    ``seasonal``).
    ``statistic``: ``mean``, ``sum`` (precipitation volume), ``wet_day_count`` (precipitation
    frequency: days with a value ≥ ``wet_day_threshold``; daily stacks only), ``min``, ``max``.

    A period's coverage is its valid (non-NaN) steps over the steps the calendar puts in it
    (days in the month, 3 months in a season…); below ``min_coverage`` the cell is NaN for that
    period. ``sum`` and ``wet_day_count`` count missing steps at the period's valid-step mean
    (value × steps in period / valid steps), so a few missing days do not bias a volume low; with
    complete data they are the plain sum and count. Periods the stack only partly covers at
    its start or end are dropped and returned in ``dropped``; periods inside the stack are kept
    (all-NaN where no step falls in them). ``name`` names the stack in error messages.
    """
    source_scale = check_time_scale(source_scale, f"time scale of {name}")
    scale = check_time_scale(scale, "target time scale")
    statistic = str(statistic).strip().lower()
    if statistic not in STATISTICS:
        raise InputError(f"statistic {statistic!r} is not one of {', '.join(STATISTICS)}")
    if not 0.0 < float(min_coverage) <= 1.0:
        raise InputError(f"minimum coverage must be a share in (0, 1]; got {min_coverage}")
    if not np.isfinite(wet_day_threshold):
        raise InputError(f"wet-day threshold must be a number; got {wet_day_threshold}")
    if statistic in DAILY_STATISTICS and source_scale != "daily":
        raise InputError(f"{statistic} needs daily values but {name} is a {source_scale} stack; "
                         "use sum or mean, or give the daily stack")
    if TIME_SCALES.index(scale) <= TIME_SCALES.index(source_scale):
        raise InputError(f"cannot aggregate {name} ({source_scale}) to {scale}: the target "
                         "time scale must be coarser than the stack's")
    if source_scale == "seasonal":  # DJF straddles the year, so seasons do not nest in years
        raise InputError(f"cannot aggregate {name} (seasonal) to annual: DJF seasons straddle "
                         "two years; aggregate the monthly or daily stack instead")
    data = np.asarray(data)
    if data.ndim < 1:
        raise InputError(f"{name} has no time axis")
    days = _check_dates(dates, data.shape[-1], name)

    steps = period_start(days, source_scale)  # mid-month stamps become the 1st
    if steps.size > 1 and not (np.diff(steps) > np.timedelta64(0, "D")).all():
        bad = int(np.flatnonzero(np.diff(steps) <= np.timedelta64(0, "D"))[0]) + 1
        raise InputError(f"band dates of {name} must increase, one band per {source_scale} "
                         f"step; band {bad + 1} ({steps[bad]}) follows {steps[bad - 1]}")

    periods = period_range(steps[0], steps[-1], scale)
    period_of_step = np.searchsorted(periods, period_start(steps, scale), side="right") - 1
    if source_scale == "daily":
        expected = (next_period_start(periods, scale) - periods).astype(np.int64)
    else:
        expected = np.full(periods.size,
                           MONTHS_PER_PERIOD[scale] // MONTHS_PER_PERIOD[source_scale])
    keep = np.ones(periods.size, dtype=bool)
    keep[0] &= bool(steps[0] == periods[0])
    keep[-1] &= bool(next_period_start(steps[-1:], source_scale)[0]
                     == next_period_start(periods[-1:], scale)[0])
    if not keep.any():
        raise InputError(f"{name} ({steps[0]} to {steps[-1]}) covers no complete {scale} period")

    # steps are sorted, so each period's steps are one contiguous run: reduce the runs
    first_step = np.flatnonzero(np.r_[True, np.diff(period_of_step) > 0])
    run_period = period_of_step[first_step]
    valid = np.isfinite(data)
    n_valid = np.add.reduceat(valid, first_step, axis=-1, dtype=np.int32)
    n_expected = expected[run_period]
    if statistic in ("min", "max"):
        reduce = np.fmin if statistic == "min" else np.fmax  # fmin/fmax skip NaN
        value = reduce.reduceat(data, first_step, axis=-1).astype(np.float64)
    else:
        if statistic == "wet_day_count":
            counted = data >= wet_day_threshold  # NaN compares False
        else:
            counted = np.where(valid, data, 0)
        total = np.add.reduceat(counted, first_step, axis=-1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            if statistic == "mean":
                value = total / n_valid
            else:
                value = np.where(n_valid == n_expected, total, total * n_expected / n_valid)
    enough = (n_valid > 0) & (n_valid >= min_coverage * n_expected - 1e-9)

    values = np.full(data.shape[:-1] + (periods.size,), np.nan, dtype=np.float32)
    values[..., run_period] = np.where(enough, value, np.nan)
    return Aggregated(values[..., keep], periods[keep], periods[~keep])


def resampling_method(resampling: str) -> str:
    """``resampling`` lower-cased if it is one of ``RESAMPLING``; an InputError if not."""
    method = str(resampling).strip().lower()
    if method not in RESAMPLING:
        raise InputError(f"resampling {resampling!r} is not one of {', '.join(RESAMPLING)}")
    return method


def align_to_grid(data: np.ndarray, src_grid, dst_grid, resampling: str = "average") -> np.ndarray:
    """Resample a stack ``(time, rows, cols)`` (or one band ``(rows, cols)``) onto ``dst_grid``.

    Grids are ``timestack.Grid`` (``crs``, ``transform``, ``width``, ``height``); the CRS may
    differ.
    ``resampling``: ``average`` (area-weighted mean of the source cells, for coarsening),
    ``bilinear``, ``nearest``, ``mode`` (most common value, for classes). NaN source cells are
    ignored; a target cell with no valid source is NaN. Band count and order are kept.
    """
    from rasterio.warp import Resampling, reproject

    method = resampling_method(resampling)
    source = np.asarray(data, dtype=np.float32)
    single = source.ndim == 2
    if single:
        source = source[np.newaxis]
    if source.ndim != 3 or source.shape[1:] != (src_grid.height, src_grid.width):
        raise InputError(f"stack of shape {np.shape(data)} does not fit its grid of "
                         f"{src_grid.height} rows × {src_grid.width} columns")
    destination = np.full((source.shape[0], dst_grid.height, dst_grid.width), np.nan, np.float32)
    reproject(source=source, destination=destination,
              src_transform=src_grid.transform, src_crs=src_grid.crs, src_nodata=np.nan,
              dst_transform=dst_grid.transform, dst_crs=dst_grid.crs, dst_nodata=np.nan,
              resampling=getattr(Resampling, method))
    return destination[0] if single else destination
