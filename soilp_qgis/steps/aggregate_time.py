"""``aggregate_time``: summarise a time stack per month, season or year (soilp:aggregatetime).

Parameters: ``input`` (time stack), ``scale`` (monthly | seasonal | annual), ``statistic`` (mean |
sum | wet_day_count | min | max), ``wet_day_threshold`` (mm, 1.0), ``min_coverage`` (0.9),
``output`` (GeoTIFF time stack). Precipitation volume is the ``sum`` of daily precipitation,
precipitation frequency its ``wet_day_count``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import contract
from ..blocks import BlockExecutor, BlockInput, OutputSpec
from ..contract import FileOutput, StepParameters
from ..prepare import STATISTICS
from ..prepare import aggregate_time as aggregate
from ..protocol import Reporter
from ..seasons import period_label
from ..timestack import format_date, write_stack
from ._inputs import open_stack
from .common import processes, processes_parameter
from .outputs import StepOutputs, engine_step


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``aggregate_time`` (soilp:aggregatetime)."""

    STEP = "aggregate_time"

    input: str = contract.stack()
    scale: str = contract.choice(("monthly", "seasonal", "annual"), "monthly")
    statistic: str = contract.choice(STATISTICS, "mean")
    wet_day_threshold: float = contract.number(1.0, minimum=0.0)
    min_coverage: float = contract.number(0.9, minimum=0.01, maximum=1.0)
    processes: int = processes_parameter()
    output: str = contract.raster_output(required=True)


OUTPUTS = (FileOutput("output", "stack", "one band per period, dated by its first day"),)

#: the unit word of one period of each time scale, for rates such as ``mm month-1``
PERIOD_WORD = {"daily": "day", "monthly": "month", "seasonal": "season", "annual": "year"}
_PER_PERIOD = re.compile(r"^(?P<base>.*?)\s*"
                         r"(?:/\s*(?P<a>day|d|month|mon)|(?P<b>day|d|month|mon)-1)$",
                         re.IGNORECASE)


def aggregated_units(units: str, statistic: str, scale: str) -> str:
    """Units of the result: ``days`` for a wet-day count, ``mm season-1`` for a sum of
    ``mm day-1``."""
    if statistic == "wet_day_count":
        return "days"
    if statistic != "sum" or not units:
        return units
    match = _PER_PERIOD.match(units.strip())
    base = match.group("base") if match else units
    return f"{base} {PERIOD_WORD[scale]}-1"


def _aggregate_block(blocks: dict, **options) -> dict:
    return {"values": aggregate(blocks["input"], **options).values}


@engine_step(Parameters, OUTPUTS)
def aggregate_time(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    """Aggregate the ``input`` stack to ``scale`` with ``statistic``; write ``output``."""
    info = open_stack(p)
    name = info.name
    options = dict(dates=info.dates, source_scale=info.time_scale, scale=p.scale,
                   statistic=p.statistic, wet_day_threshold=p.wet_day_threshold,
                   min_coverage=p.min_coverage, name=name)
    plan = aggregate(np.empty((0, info.count), dtype=np.float32), **options)  # checks, periods
    scale, statistic = p.scale, p.statistic
    report.info(f"{name}: {info.count} {info.time_scale} steps, {format_date(info.dates[0])} to "
                f"{format_date(info.dates[-1])} → {plan.dates.size} {scale} periods ({statistic})")
    if plan.dropped.size:
        report.info(f"left out {plan.dropped.size} incomplete {scale} period(s) at the ends: "
                    + ", ".join(period_label(d, scale) for d in plan.dropped))

    # reading dominates (a daily stack has thousands of bands): no tile is read for two blocks
    executor = BlockExecutor(processes=processes(p), whole_tiles=True)
    values = executor.run(partial(_aggregate_block, **options), {"input": BlockInput(info)},
                          {"values": OutputSpec(bands=plan.dates.size)},
                          report.sub(0.0, 0.95))["values"]
    units = aggregated_units(info.units, statistic, scale)
    write_stack(outputs.path("output"), values, info.grid, plan.dates, scale, units,
                description=f"{statistic} of {name} per {scale} period")
    return {"OUTPUT": p.output, "PERIODS": int(plan.dates.size),
            "FIRST_PERIOD": str(plan.dates[0]), "LAST_PERIOD": str(plan.dates[-1]),
            "DROPPED_PERIODS": [str(d) for d in plan.dropped], "UNITS": units}
