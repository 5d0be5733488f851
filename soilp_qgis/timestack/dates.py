"""Dates of time stacks: time scales, seasons, band dates from text or CF time axes.

Band dates are ``numpy.datetime64[D]``, the first day of each period. Seasons follow the paper:
MAM (spring), JJA (summer), SON (autumn) and DJF (winter) = December of year y with January and
February of year y+1, stamped with the December date (``y-12-01``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import InputError
from .files import short_error

#: time scales of a stack, finest first
TIME_SCALES = ("daily", "monthly", "seasonal", "annual")

#: season name by the month (1–12) the season starts in
SEASON_BY_START_MONTH = {3: "MAM", 6: "JJA", 9: "SON", 12: "DJF"}

#: months per period of each scale coarser than daily
MONTHS_PER_PERIOD = {"monthly": 1, "seasonal": 3, "annual": 12}


def check_time_scale(scale: str, what: str = "time scale") -> str:
    """``scale`` lower-cased if it is one of ``TIME_SCALES``; else an InputError naming ``what``."""
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
    """Start days of every ``scale`` period from the one holding ``first`` to the one holding
    ``last``."""
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



def format_date(date: np.datetime64, time_scale: str = "daily") -> str:
    """A period's date in words fit for its scale: ``2019-12-01`` daily, ``2019-12`` monthly or
    seasonal, ``2019`` annual."""
    text = str(np.datetime64(date, "D"))
    if time_scale in ("monthly", "seasonal"):
        return text[:7]
    if time_scale == "annual":
        return text[:4]
    return text


_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ][0-9:.]*Z?)?\s*$")


def parse_date(text: str) -> np.datetime64 | None:
    """``2000-01-01`` / ``2000-01`` / ``2000`` (optionally with a time of day) → datetime64[D];
    None when the text is not such a date."""
    match = _DATE_RE.match(str(text))
    if not match:
        return None
    year, month, day = match.group(1), match.group(2) or "1", match.group(3) or "1"
    try:
        return np.datetime64(f"{int(year):04d}-{int(month):02d}-{int(day):02d}", "D")
    except ValueError:
        return None


def infer_time_scale(dates: np.ndarray, what: str = "the stack") -> str:
    """The time scale implied by the spacing of ``dates`` (median step in days)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    if len(dates) < 2:
        raise InputError(f"{what}: cannot tell the time scale from a single time step; "
                         "set the metadata item time_scale (daily, monthly, seasonal or annual)")
    step = float(np.median(np.diff(dates).astype(np.int64)))
    for scale, low, high in (("daily", 0.5, 1.5), ("monthly", 27, 32), ("seasonal", 85, 95),
                             ("annual", 360, 370)):
        if low <= step <= high:
            return scale
    raise InputError(f"{what}: cannot tell the time scale from dates {step:g} days apart; "
                     "expected daily, monthly, seasonal or annual steps")


def normalise_dates(raw: np.ndarray, time_scale: str | None, what: str) -> tuple[np.ndarray, str]:
    """Raw stamps → (first day of each period, time scale); the scale inferred when None. An
    InputError names ``what`` when two stamps share a period or the dates go backwards."""
    raw = np.asarray(raw, dtype="datetime64[D]")
    if time_scale is None:
        time_scale = infer_time_scale(raw, what)
    elif time_scale not in TIME_SCALES:
        raise InputError(f"{what}: time_scale {time_scale!r} is not one of "
                         f"{', '.join(TIME_SCALES)}")
    dates = period_start(raw, time_scale)
    steps = np.diff(dates).astype(np.int64)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        if steps[i] == 0:
            raise InputError(f"{what}: time steps {i + 1} and {i + 2} fall in the same "
                             f"{time_scale} period ({format_date(dates[i], time_scale)})")
        raise InputError(f"{what}: dates are not in increasing order at time step {i + 2} "
                         f"({format_date(dates[i], time_scale)} then "
                         f"{format_date(dates[i + 1], time_scale)})")
    return dates, time_scale


def scale_from_metadata(value: Any) -> str | None:
    """A time scale from a metadata word (``mon``, ``day``, ``yearly``…); None if unknown."""
    if value is None:
        return None
    text = str(value).strip().lower()
    mapping = {"daily": "daily", "day": "daily", "1d": "daily", "monthly": "monthly",
               "mon": "monthly",
               "month": "monthly", "1m": "monthly", "seasonal": "seasonal", "season": "seasonal",
               "seas": "seasonal", "sem": "seasonal", "annual": "annual", "yearly": "annual",
               "year": "annual", "yr": "annual", "1y": "annual"}
    return mapping.get(text)


def cf_to_dates(values: np.ndarray, units: str, calendar: str, what: str) -> np.ndarray:
    """CF numeric times → datetime64[D] (day of the stamp; any calendar via cftime)."""
    import cftime

    try:
        stamps = cftime.num2date(np.asarray(values, dtype=np.float64), units, calendar,
                                 only_use_cftime_datetimes=True)
    except Exception as exc:
        raise InputError(f"{what}: cannot decode the time axis (units {units!r}, "
                         f"calendar {calendar!r}): {short_error(exc)}") from exc
    out = np.empty(len(stamps), dtype="datetime64[D]")
    for i, stamp in enumerate(np.ravel(stamps)):
        try:
            out[i] = np.datetime64(f"{stamp.year:04d}-{stamp.month:02d}-01", "D") + (stamp.day - 1)
        except ValueError as exc:
            raise InputError(f"{what}: time step {i + 1} ({stamp}) is not a calendar date") from exc
    # A day that the real calendar lacks (30 February in a 360_day calendar) rolls into the next
    # month; for daily data that gives two steps on one day, which _normalise_dates reports.
    return out

