"""Ecoregion mean series: the mean of a time stack over each ecoregion at each date."""

from . import parameters
from .base import SoilpAlgorithm


class EcoregionSeriesAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "ecoregionseries"
    DISPLAY_NAME = "Ecoregion mean series"
    GROUP_ID = "preparation"
    GROUP = "Data preparation"
    STEP = "ecoregion_series"
    ICON = "ecoregion_series.svg"
    TAGS = ["zonal statistics", "mean", "ecoregion", "biome", "WWF", "time series", "CSV"]
    SHORT_DESCRIPTION = (
        "The mean of a time stack over each ecoregion at each date, as a CSV table."
    )
    HELP = (
        "The mean of a time stack over each ecoregion at each date: one CSV row per ecoregion "
        "and date with the columns ecoregion, date, mean and valid_cells. The mean is over the "
        "ecoregion's cells that have a value at that date (unweighted by cell area); it is "
        "empty (nan) where none has one. Give the ecoregions either as a polygon layer "
        "(ECOREGIONS + FIELD, rasterized onto the stack's grid by cell centres) or as an "
        "integer raster on the stack's grid (ECOREGIONS_RASTER, advanced); one of the two is "
        "needed, and the polygon layer is used when both are given."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("INPUT", "Time stack", "The stack to average per ecoregion."),
            *parameters.ecoregions(),
            parameters.csv_output(
                "OUTPUT", "Ecoregion mean series",
                "CSV with the columns ecoregion, date (ISO, the period's first day), mean and "
                "valid_cells (the cells that entered the mean)."),
        ]
