"""Aggregate time stack: daily or monthly values summarised per month, season or year."""

from qgis.core import QgsProcessingParameterNumber

from . import compat, parameters
from .base import SoilpAlgorithm, described

SCALES = [("monthly", "Monthly"), ("seasonal", "Seasonal (MAM, JJA, SON, DJF)"),
          ("annual", "Annual")]
STATISTICS = [("mean", "Mean"), ("sum", "Sum (volume)"), ("wet_day_count", "Wet-day count"),
              ("min", "Minimum"), ("max", "Maximum")]


class AggregateTimeAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "aggregatetime"
    DISPLAY_NAME = "Aggregate time stack"
    GROUP_ID = "preparation"
    GROUP = "Data preparation"
    STEP = "aggregate_time"
    ICON = "aggregate_time.svg"
    TAGS = ["aggregate", "temporal resampling", "monthly", "seasonal", "annual", "sum", "mean",
            "wet days", "precipitation volume", "precipitation frequency", "daily", "time series",
            "GPCP", "ERA5"]
    SHORT_DESCRIPTION = (
        "Summarise a time stack per month, season or year: mean, sum, wet-day count, minimum, "
        "maximum."
    )
    HELP = (
        "Summarises a time stack per month, season or year, per cell, and writes one band per "
        "period dated by the period's first day. From daily precipitation, SUM gives the "
        "precipitation volume and WET_DAY_COUNT the precipitation frequency (days with at least "
        "WET_DAY_THRESHOLD mm) that the paper's ridge analysis uses. Seasons are MAM, JJA, SON "
        "and DJF (December with the next year's January and February). Periods the stack covers "
        "only in part at its start or end are dropped and listed in the log. Inside a period, a "
        "cell needs at least MIN_COVERAGE of the period's time steps valid, else it is nodata for "
        "that period. SUM and WET_DAY_COUNT are scaled up for the missing steps of a period "
        "that passes MIN_COVERAGE (value × steps in the period / valid steps), so a few missing "
        "days do not bias a volume or a count low; with complete data they are the plain sum "
        "and count."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("INPUT", "Time stack",
                                  "The stack to aggregate, daily or monthly (e.g. daily "
                                  "precipitation in mm)."),
            parameters.choice(
                "SCALE", "Time scale", SCALES,
                "The periods to summarise over; it must be coarser than the stack's own time "
                "steps. Seasonal stacks cannot be aggregated to annual (DJF straddles two "
                "years)."),
            parameters.choice(
                "STATISTIC", "Statistic", STATISTICS,
                "Mean, sum, minimum or maximum of the valid steps of each period, or the number "
                "of wet days (daily stacks only): from daily precipitation, sum gives the "
                "precipitation volume and wet-day count its frequency. Sum and wet-day count are "
                "scaled up for missing steps: value × steps in the period / valid steps."),
            described(QgsProcessingParameterNumber(
                "WET_DAY_THRESHOLD", "Wet-day threshold (mm)", compat.NUMBER_DOUBLE,
                defaultValue=1.0, minValue=0.0),
                "A day counts as wet when its precipitation is at least this value (only for "
                "the wet-day count)."),
            described(QgsProcessingParameterNumber(
                "MIN_COVERAGE", "Minimum coverage",
                compat.NUMBER_DOUBLE, defaultValue=0.9, minValue=0.01,
                maxValue=1.0),
                "The share of a period's time steps (days in the month, months in a season…) "
                "that must be valid for the cell to get a value for that period.",
                advanced=True),
            parameters.processes(),
            parameters.raster_output(
                "OUTPUT", "Aggregated stack",
                "A time stack with one band per period (band description = the period's first "
                "day); units follow the statistic (days for the wet-day count, mm month-1 for "
                "a monthly sum of mm day-1)."),
        ]
