"""Ridge control: whether precipitation frequency, volume or evapotranspiration controls soil
moisture, as a ternary colour composite."""

from qgis.core import (
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from . import compat, parameters
from .base import SoilpAlgorithm, described

COLOR_MODELS = [("CMY", "CMY (the paper's colours)"), ("RGB", "RGB")]


class RidgeControlAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "ridgecontrol"
    DISPLAY_NAME = "Ridge control of soil moisture (ternary)"
    GROUP_ID = "dependence"
    GROUP = "Dependence"
    STEP = "ridge_control"
    ICON = "ridge_control.svg"
    TAGS = ["ridge", "regression", "ternary", "RGB", "CMY", "composite", "control", "weights",
            "evapotranspiration", "precipitation frequency", "precipitation volume", "GLEAM"]
    SHORT_DESCRIPTION = (
        "Which of precipitation frequency, precipitation volume and evapotranspiration controls "
        "soil moisture, as a ternary colour composite with its legend."
    )
    HELP = (
        "Which of precipitation frequency, precipitation volume and evapotranspiration (ET) "
        "controls soil moisture, per cell — the paper's ridge-regression analysis (section "
        "2.2.2, figures 4–6). On the time steps where every input is valid, each variable is "
        "standardised to z-scores (population standard deviation) and soil moisture is "
        "regressed by ridge regression: SM = β_freq·F + β_vol·V + β_ET·E (+ β_Ta·T) + "
        "intercept. Air temperature, when given, is a control variable: in the model, not in "
        "the weights W_i = |β_i| / (|β_freq| + |β_vol| + |β_ET|). The weights are mapped as a "
        "ternary colour composite with its legend triangle, and a cell is dominated by one "
        "driver where its weight exceeds STRONG_CONTROL."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("SOIL_MOISTURE", "Soil moisture time stack",
                                  "Soil moisture of one layer (m³/m³)."),
            parameters.time_stack("PRECIP_VOLUME", "Precipitation volume time stack",
                                  "Precipitation total per time step (mm), on the same grid and "
                                  "dates."),
            parameters.time_stack("PRECIP_FREQUENCY", "Precipitation frequency time stack",
                                  "Number of wet days per time step (e.g. days with at least "
                                  "1 mm), on the same grid and dates."),
            parameters.time_stack("EVAPOTRANSPIRATION", "Evapotranspiration time stack",
                                  "Evapotranspiration per time step (mm), on the same grid and "
                                  "dates."),
            parameters.time_stack("AIR_TEMPERATURE", "Air temperature time stack",
                                  "Optional control variable (°C): in the regression, not in the "
                                  "weights.", optional=True),
            parameters.season(),
            described(QgsProcessingParameterNumber(
                "ALPHA", "Ridge penalty α", compat.NUMBER_DOUBLE,
                defaultValue=None, optional=True, minValue=0.0),
                "A fixed penalty with scikit-learn's meaning: minimise ‖y − Xβ‖² + α‖β‖², "
                "intercept not penalised. Empty: chosen per cell by exact leave-one-out over 25 "
                "log-spaced values 10⁻³…10³, and written as the last band of the coefficients."),
            described(QgsProcessingParameterNumber(
                "STRONG_CONTROL", "Strong control threshold", compat.NUMBER_DOUBLE,
                defaultValue=0.75, minValue=0.01, maxValue=1.0),
                "A cell is dominated by a driver where that driver's weight is above this "
                "value; otherwise it is 'mixed'. Dashed lines in the legend triangle."),
            parameters.choice(
                "COLOR_MODEL", "Colour model", COLOR_MODELS,
                "CMY: R = 255·(1 − W_freq), G = 255·(1 − W_vol), B = 255·(1 − W_ET), so "
                "frequency is cyan, volume magenta and ET yellow, as in the paper's maps. RGB: "
                "R = 255·W_vol, G = 255·W_freq, B = 255·W_ET, so volume is red, frequency green "
                "and ET blue."),
            parameters.min_observations(10),
            *parameters.ecoregions(),
            parameters.processes(),
            parameters.raster_output(
                "OUTPUT_COEFFICIENTS", "Standardised coefficients",
                "Bands β_freq, β_vol, β_ET, β_Ta (nodata when no air temperature is given) and, "
                "when α is automatic, the chosen α.", optional=True),
            parameters.raster_output(
                "OUTPUT_WEIGHTS", "Control weights",
                "Bands W_freq, W_vol, W_ET: each driver's share of |β_freq| + |β_vol| + |β_ET|.",
                optional=True),
            parameters.raster_output(
                "OUTPUT_RGB", "Ternary colour composite",
                "Three Byte bands (red, green, blue) of the weights in the chosen colour model; "
                "0 = nodata (transparent). Opens as a colour image."),
            parameters.raster_output(
                "OUTPUT_DOMINANT", "Dominant control",
                "Byte: 1 volume, 2 frequency, 3 ET where that weight is above STRONG_CONTROL, "
                "0 mixed; 255 = not fitted.", optional=True),
            parameters.status_output(optional=True),
            parameters.csv_output(
                "OUTPUT_TABLE", "Dominant control shares (CSV)",
                "Share (0–1) of the fitted cells per dominant class: row 'all', and one row per "
                "ecoregion when ecoregions are given.", optional=True),
            described(QgsProcessingParameterFileDestination(
                "OUTPUT_LEGEND", "Legend (PNG)", "PNG files (*.png)", optional=True,
                createByDefault=False),
                "The ternary legend triangle in the composite's colours, with the share of "
                "cells per dominant class. Empty: written beside the composite, named after it "
                "(ternary.tif → ternary_legend.png), and shown as the composite's legend in the "
                "Layers panel and in print layouts."),
        ]
