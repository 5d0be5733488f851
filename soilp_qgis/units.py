"""Units of product files, read and converted with pint.

Product files write units the CF way (``kg m-2 s-1``, ``m3 m-3``, ``m**3 m**-3``, ``K``,
``degrees_Celsius``, ``mm d-1``, ``%``); :func:`parse_units` turns them into pint units.
:func:`unit_converter` gives the conversion a user means when asking for other units of the same
quantity:

- length and rates: ``m`` → ``mm`` (ERA5 precipitation), ``mm d-1`` → ``mm/day``;
- water mass per area as depth: ``kg m-2`` → ``mm``, ``kg m-2 s-1`` → ``mm day-1`` (1 kg of water
  per m² is 1 mm; pint context ``water``);
- temperature: ``K`` → ``degC`` (offsets included);
- shares: ``%`` → ``m3 m-3`` (soil moisture);
- a rate → an amount per calendar period of the stack (``kg m-2 s-1`` → ``mm month-1`` on a monthly
  stack): the rate times each period's true length (31 days for January, 28 or 29 for February),
  and back (``mm month-1`` → ``mm day-1``). pint's own ``month`` (a twelfth of a year) is never
  used for this; a period word that does not match the stack's time scale is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .errors import InputError
from .timestack.dates import next_period_start

#: unit words of the periods of each time scale
PERIOD_WORDS = {"daily": ("day", "d"), "monthly": ("month", "mon"), "seasonal": ("season",),
                "annual": ("year", "yr", "a")}
_ALIASES = {"degrees_celsius": "degC", "degree_celsius": "degC", "celsius": "degC",
            "deg_c": "degC", "°c": "degC", "degc": "degC", "degrees_kelvin": "K", "kelvin": "K",
            "%": "percent", "1": "dimensionless", "fraction": "dimensionless", "mon": "month"}
#: unit words of calendar periods whose length varies (per-period amounts)
CALENDAR_PERIODS = {"monthly": "month", "seasonal": "season", "annual": "year"}
_CELSIUS = re.compile(
    r"(?<![A-Za-z])(?:°\s*C|deg(?:ree)?s?[\s_]*(?:C|Celsius|centigrade))(?![A-Za-z])",
    re.IGNORECASE)
_KELVIN = re.compile(r"(?<![A-Za-z])deg(?:ree)?s?[\s_]*(?:K|Kelvin)(?![A-Za-z])", re.IGNORECASE)
_POWER = re.compile(r"^([A-Za-z_%°]+)(?:\^|\*\*)?([-+]?\d+)$")
_PER_PERIOD = re.compile(r"(?:/\s*|\s)(month|mon|season|year|yr|a|day|d)(?:-1|\*\*-1|\^-1)?\s*$")


@lru_cache(maxsize=1)
def registry():
    """The unit registry: pint's defaults, ``season`` (3 months) and the ``water`` context."""
    import pint

    ureg = pint.UnitRegistry()
    ureg.define("season = 3 * month")
    water = pint.Context("water")
    density = ureg.Quantity(1000.0, "kg / m**3")
    for suffix in ("", " / [time]"):
        water.add_transformation(f"[mass] / [length] ** 2{suffix}", f"[length]{suffix}",
                                 lambda _, value: value / density)
        water.add_transformation(f"[length]{suffix}", f"[mass] / [length] ** 2{suffix}",
                                 lambda _, value: value * density)
    ureg.add_context(water)
    return ureg


def _pint_text(text: str) -> str:
    """CF unit text in pint's syntax: ``kg m-2 s-1`` → ``kg * m**-2 * s**-1``."""
    text = _KELVIN.sub("K", _CELSIUS.sub("degC", str(text)))
    words = []
    for word in text.strip().split():
        word = _ALIASES.get(word.lower(), word)
        match = _POWER.match(word)
        if match:
            base = _ALIASES.get(match.group(1).lower(), match.group(1))
            word = f"{base}**{int(match.group(2))}"
        words.append(word)
    joined = " * ".join(words)
    return joined.replace("* / *", "/").replace("* /", "/").replace("/ *", "/") or "dimensionless"


def parse_units(text: str, what: str = "units"):
    """A pint unit from CF-style text; an InputError naming ``what`` when unreadable."""
    try:
        return registry().parse_units(_pint_text(text))
    except Exception as exc:
        raise InputError(f"{what} {text!r} are not units soilp can read "
                         f"({type(exc).__name__}); write them like mm, mm day-1, K, degC, "
                         "m3 m-3, kg m-2 s-1") from None


def _period_word(text: str) -> str | None:
    match = _PER_PERIOD.search(str(text).strip())
    if not match:
        return None
    word = match.group(1)
    for scale, words in PERIOD_WORDS.items():
        if word in words:
            return scale
    return None


def period_days(dates: np.ndarray, time_scale: str) -> np.ndarray:
    """Length in days of each period starting at ``dates``."""
    starts = np.asarray(dates, dtype="datetime64[D]")
    return (next_period_start(starts, time_scale) - starts).astype(np.float64)


def unit_converter(source: str, target: str, dates: np.ndarray, time_scale: str
                   ) -> Callable[[np.ndarray], np.ndarray]:
    """A function turning ``(time, ...)`` values in ``source`` units into ``target`` units for a
    stack of ``time_scale`` periods starting at ``dates``; InputError when the quantities differ."""
    ureg = registry()
    src, dst = parse_units(source, "the file's units"), parse_units(target, "UNITS")
    src_period, dst_period = _period_word(source), _period_word(target)
    if src_period not in CALENDAR_PERIODS or src_period == dst_period:
        src_period = None
    if dst_period not in CALENDAR_PERIODS or dst_period == _period_word(source):
        dst_period = None
    for period in (src_period, dst_period):
        if period is not None and period != time_scale:
            raise InputError(f"UNITS: {source!r} to {target!r} needs the length of each "
                             f"{CALENDAR_PERIODS[period]}, but this is a {time_scale} stack")
    day = ureg.parse_units("day")
    # An amount per calendar period is taken per day of that period (its true length).
    if src_period:
        src = src * ureg.parse_units(CALENDAR_PERIODS[src_period]) / day
    if dst_period:
        dst = dst * ureg.parse_units(CALENDAR_PERIODS[dst_period]) / day
    try:
        with ureg.context("water"):
            zero = ureg.Quantity(0.0, src).to(dst).magnitude
            one = ureg.Quantity(1.0, src).to(dst).magnitude
    except Exception as exc:
        raise InputError(f"UNITS: cannot convert {source!r} to {target!r} "
                         f"({' '.join(str(exc).split())[:160]})") from None
    factor, offset = float(one - zero), float(zero)
    lengths = period_days(dates, time_scale) if (src_period or dst_period) else None

    def convert(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        shape = (-1,) + (1,) * (values.ndim - 1)
        if src_period:
            values = values / lengths.reshape(shape)
        out = values * factor + offset
        if dst_period:
            out = out * lengths.reshape(shape)
        return out

    return convert
