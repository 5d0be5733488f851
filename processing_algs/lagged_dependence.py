"""Lagged dependence: how many months soil moisture lags behind precipitation."""

from qgis.core import QgsProcessingParameterNumber

from . import compat, parameters
from .base import SoilpAlgorithm, described


class LaggedDependenceAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "laggeddependence"
    DISPLAY_NAME = "Lagged dependence"
    GROUP_ID = "dependence"
    GROUP = "Dependence"
    STEP = "lagged_dependence"
    ICON = "lagged_dependence.svg"
    TAGS = ["lag", "lagged", "delay", "memory", "kendall", "tau", "cross-correlation",
            "soil moisture", "precipitation"]
    SHORT_DESCRIPTION = (
        "Kendall's τ between precipitation and soil moisture 0–12 steps later per cell, and the "
        "lag where it is strongest."
    )
    HELP = (
        "Kendall's τ-b between precipitation at time t and soil moisture at t + k, for k = 0 … "
        "MAX_LAG time steps, per cell, and the lag where the dependence is strongest (largest "
        "|τ|; the smallest such lag on ties) — the paper's lagged correlation analysis (section "
        "2.2.1, fig. S2). Only the steps where both values are valid count; a cell gets a τ at a "
        "lag when it has at least MIN_OBSERVATIONS valid pairs there.\n\n"
        "Is the lag real? The Kendall p-value at the optimal lag is multiplied by the number of "
        "lags tried (the optimal lag is the best of them), then the false discovery rate is "
        "controlled over the map (Benjamini–Hochberg at 2 α, Wilks 2016): the significance "
        "raster marks cells whose τ at the optimal lag is significantly negative or positive. "
        "The lag stability raster is the share of moving-block bootstrap replicates (the same "
        "time blocks for every cell) whose optimal lag is the cell's: near 1 a well-defined "
        "lag, near 1 / (MAX_LAG + 1) a coin toss."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("PRECIPITATION", "Precipitation time stack",
                                  "Precipitation (e.g. monthly volume in mm)."),
            parameters.time_stack("SOIL_MOISTURE", "Soil moisture time stack",
                                  "Soil moisture of one layer (m³/m³), on the same grid and "
                                  "dates."),
            described(QgsProcessingParameterNumber(
                "MAX_LAG", "Maximum lag (time steps)", compat.NUMBER_INTEGER,
                defaultValue=12, minValue=0, maxValue=120),
                "The largest lag k tried, in time steps of the stacks (months for monthly "
                "stacks; the paper uses 0–12 months)."),
            parameters.min_observations(15),
            parameters.processes(),
            *parameters.significance(
                100, "Each replicate costs MAX_LAG + 1 resampled τ per cell: 100 take about "
                     "25 ms per cell and process, 15 times the step without bootstrap."),
            parameters.raster_output(
                "OUTPUT_TAU_BY_LAG", "Kendall's τ by lag",
                "One band per lag: band k + 1 is τ-b between precipitation at t and soil "
                "moisture at t + k.", optional=True),
            parameters.raster_output(
                "OUTPUT_OPTIMAL_LAG", "Optimal lag",
                "The lag (time steps) with the largest |τ| (Byte, 255 = nodata)."),
            parameters.raster_output(
                "OUTPUT_TAU_AT_OPTIMAL_LAG", "Kendall's τ at the optimal lag",
                "The signed τ at the optimal lag.", optional=True),
            parameters.raster_output(
                "OUTPUT_STATUS", "Lag status per cell",
                "Why a cell is empty: 1 no data, 2 too few values, 3 constant series.",
                optional=True),
            parameters.significance_output(
                "Kendall's test of τ at the optimal lag, times the number of lags tried"),
            parameters.raster_output(
                "OUTPUT_LAG_STABILITY", "Optimal lag stability",
                "Share (0–1) of bootstrap replicates whose optimal lag is the cell's optimal lag "
                "(nodata without bootstrap).", optional=True),
        ]
