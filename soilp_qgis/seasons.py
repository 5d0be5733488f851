"""Time scales and seasons over band dates: now in :mod:`soilp_qgis.timestack.dates`, re-exported
here for the code that imports them from ``soilp_qgis.seasons``."""

from .timestack.dates import (
                              MONTHS_PER_PERIOD,
                              SEASON_BY_START_MONTH,
                              TIME_SCALES,
                              as_days,
                              check_time_scale,
                              next_period_start,
                              period_label,
                              period_range,
                              period_start,
                              season_name,
)

__all__ = ["MONTHS_PER_PERIOD", "SEASON_BY_START_MONTH", "TIME_SCALES", "as_days",
           "check_time_scale", "next_period_start", "period_label", "period_range", "period_start",
           "season_name"]
