"""Time scales and seasons over band dates (``numpy.datetime64[D]``, first day of each period).

Seasons follow the paper: MAM (spring), JJA (summer), SON (autumn) and DJF (winter) = December of
year y with January and February of year y+1, stamped with the December date (``y-12-01``).
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

#: time scales of a stack, finest first
TIME_SCALES = ("daily", "monthly", "seasonal", "annual")

#: season name by the month (1–12) the season starts in
SEASON_BY_START_MONTH = {3: "MAM", 6: "JJA", 9: "SON", 12: "DJF"}

#: months per period of each scale coarser than daily
MONTHS_PER_PERIOD = {"monthly": 1, "seasonal": 3, "annual": 12}


def check_time_scale(scale: str, what: str = "time scale") -> str:
    """``scale`` lower-cased if it is one of ``TIME_SCALES``; an InputError naming ``what`` if not."""
    value = str(scale).strip().lower()
    if value not in TIME_SCALES:
        raise InputError(f"{what} {scale!r} is not one of {', '.join(TIME_SCALES)}")
    return value


def as_days(dates) -> np.ndarray:
    """Dates as a 1-D ``datetime64[D]`` array (strings, datetime64 of any unit, or datetimes)."""
    return np.asarray(dates, dtype="datetime64[D]").reshape(-1)


def period_start(dates, scale: str) -> np.ndarray:
    """First day of the ``scale`` period (daily, monthly, seasonal, annual) holding each date.

    Seasonal periods start on 1 March, 1 June, 1 September and 1 December; January and February
    belong to the DJF season that began the December before.
    """
    scale = check_time_scale(scale)
    days = as_days(dates)
    if scale == "daily":
        return days
    months = days.astype("datetime64[M]")
    if scale == "monthly":
        return months.astype("datetime64[D]")
    if scale == "annual":
        return days.astype("datetime64[Y]").astype("datetime64[D]")
    month_of_year = months.astype(np.int64) % 12  # 0 = January
    offset = (month_of_year - 2) % 3  # months since the season began (March = 0)
    return (months - offset.astype("timedelta64[M]")).astype("datetime64[D]")


def next_period_start(starts, scale: str) -> np.ndarray:
    """First day of the period after each period start (``scale`` as in ``period_start``)."""
    scale = check_time_scale(scale)
    starts = as_days(starts)
    if scale == "daily":
        return starts + np.timedelta64(1, "D")
    months = starts.astype("datetime64[M]") + np.timedelta64(MONTHS_PER_PERIOD[scale], "M")
    return months.astype("datetime64[D]")


def period_range(first, last, scale: str) -> np.ndarray:
    """Start days of every ``scale`` period from the one holding ``first`` to the one holding ``last``."""
    scale = check_time_scale(scale)
    start, stop = period_start([first, last], scale)
    if scale == "daily":
        return np.arange(start, stop + np.timedelta64(1, "D"), dtype="datetime64[D]")
    step = MONTHS_PER_PERIOD[scale]
    months = np.arange(start.astype("datetime64[M]"), stop.astype("datetime64[M]") + 1, step)
    return months.astype("datetime64[D]")


def season_name(dates) -> np.ndarray:
    """Season (``"MAM"``, ``"JJA"``, ``"SON"``, ``"DJF"``) of each date, as a string array."""
    starts = period_start(dates, "seasonal")
    start_month = starts.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.array([SEASON_BY_START_MONTH[int(m)] for m in start_month], dtype="<U3")


def period_label(date, scale: str) -> str:
    """A period in words: ``2000-01-01`` daily, ``2000-01`` monthly, ``DJF 2000-12`` seasonal,
    ``2000`` annual."""
    scale = check_time_scale(scale)
    text = str(np.datetime64(date, "D"))
    if scale == "seasonal":
        return f"{season_name([date])[0]} {text[:7]}"
    return {"daily": text, "monthly": text[:7], "annual": text[:4]}[scale]

