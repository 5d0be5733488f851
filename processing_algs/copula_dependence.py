"""Copula dependence: Kendall's τ and tail dependence of soil moisture on precipitation per cell."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
)

from . import parameters
from .base import SoilpAlgorithm, described


class CopulaDependenceAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "copuladependence"
    DISPLAY_NAME = "Copula dependence (τ, tail dependence)"
    GROUP_ID = "dependence"
    GROUP = "Dependence"
    STEP = "copula_dependence"
    ICON = "copula_dependence.svg"
    TAGS = ["kendall", "tau", "copula", "VineCopula", "BiCopSelect", "tail dependence", "lambda",
            "dependence", "correlation", "soil moisture", "precipitation", "AIC", "ERA5", "GPCP"]
    SHORT_DESCRIPTION = (
        "Kendall's τ and the tail dependence λL, λU of soil moisture on precipitation per cell, "
        "from the best of 40 copula families."
    )
    HELP = (
        "The joint distribution of precipitation and soil moisture per cell (paper section "
        "2.2.1). Over the time steps where both values are valid, each cell's series become "
        "uniform margins (ranks, or fitted distributions), the copula family is selected by "
        "maximum likelihood and AIC (or BIC) among R VineCopula's 40 families (independence, "
        "Gaussian, Student t, Clayton, Gumbel, Frank, Joe, BB1, BB6, BB7, BB8, Tawn types 1 and "
        "2, and their rotations), and Kendall's τ and the upper and lower tail dependence λU, "
        "λL come from the selected family and its parameters. Family codes and parameters follow "
        "VineCopula, so results compare with R studies. The table gives, per ecoregion and "
        "overall, the share of cells with negative dependence (τ < 0) — the paper's headline "
        "number — with mean τ, λL, λU and the most common family. Cells that cannot be fitted "
        "are nodata, with the reason in the status raster; a run never fails because of them."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("PRECIPITATION", "Precipitation time stack",
                                  "Precipitation (e.g. monthly volume in mm)."),
            parameters.time_stack("SOIL_MOISTURE", "Soil moisture time stack",
                                  "Soil moisture of one layer (m³/m³), same grid and dates; "
                                  "one layer per run."),
            parameters.season(),
            described(QgsProcessingParameterBoolean(
                "DESEASONALIZE", "Standardised monthly anomalies",
                defaultValue=False),
                "Off (as the paper): the raw values, seasonal cycle included. On: each "
                "variable becomes (value − that calendar month's mean) / its standard deviation "
                "per cell, separating the seasonal cycle from the rest."),
            parameters.choice(
                "MARGINS", "Margins", [
                    ("empirical", "Empirical (ranks)"),
                    ("parametric", "Parametric (best fit by AIC)")],
                "Empirical: pseudo-observations, ranks / (n + 1), ties averaged as R's pobs (dry "
                "months share one rank). Parametric: per cell and variable the best of normal, "
                "lognormal, gamma, Weibull and GEV by AIC, with a point mass at zero for "
                "precipitation when there are dry steps."),
            parameters.choice(
                "FAMILY_SET", "Copula families", [
                    ("all", "All 40 VineCopula families"),
                    ("one_parameter", "One-parameter families"),
                    ("gaussian_t", "Gaussian and Student t")],
                "The candidate families (with independence). The paper selects among all 40. "
                "One-parameter families: Gaussian, Clayton, Gumbel, Frank, Joe and their "
                "rotations (faster)."),
            parameters.choice(
                "CRITERION", "Selection criterion", [("aic", "AIC"), ("bic", "BIC")],
                "AIC as the paper; BIC penalises two-parameter families more."),
            parameters.choice(
                "FITTER", "Copula fitter", [
                    ("batched", "Batched (compiled)"),
                    ("reference", "Reference (pyvinecopulib)")],
                "Batched: every cell of a block fitted together by compiled maximum likelihood "
                "with exact derivatives; it selects the same family as the reference (or one "
                "within 0.5 AIC) in at least 97 % of cells and is many times faster. "
                "Reference: pyvinecopulib cell by cell, the slower check the batched fitter is "
                "tested against.", advanced=True),
            parameters.min_observations(15),
            *parameters.ecoregions(),
            parameters.processes(),
            parameters.raster_output(
                "OUTPUT_TAU", "Kendall's τ",
                "Kendall's τ of the selected copula, −1…1 (diverging style: red negative, "
                "blue positive)."),
            parameters.raster_output(
                "OUTPUT_LOWER_TAIL", "Lower tail dependence λL",
                "Chance that soil moisture is extremely low given extremely low precipitation "
                "(VineCopula's convention: 0 for 90°/270° rotations).", optional=True),
            parameters.raster_output(
                "OUTPUT_UPPER_TAIL", "Upper tail dependence λU",
                "Chance that soil moisture is extremely high given extremely high "
                "precipitation (0 for 90°/270° rotations).", optional=True),
            parameters.raster_output(
                "OUTPUT_DISCORDANT_TAIL", "Discordant tail dependence", optional=True,
                help_text="For 90°/270° rotations (negative dependence): the tail dependence "
                          "in the discordant corner (one variable extremely high while the "
                          "other is extremely low)."),
            parameters.raster_output(
                "OUTPUT_FAMILY", "Copula family",
                "VineCopula family code of the selected copula (Int16; the style names each "
                "code).", optional=True),
            parameters.raster_output(
                "OUTPUT_PARAMETERS", "Copula parameters",
                "Bands par and par2 in VineCopula's sign convention (rotated families "
                "90°/270° have negated parameters); par2 is nodata where the family has one "
                "parameter.", optional=True),
            parameters.raster_output(
                "OUTPUT_EMPIRICAL_TAU", "Sample Kendall τ-b", optional=True,
                help_text="The sample Kendall τ-b of the cell's valid pairs, for comparison."),
            parameters.raster_output(
                "OUTPUT_P_VALUE", "p-value of the sample τ", optional=True,
                help_text="Two-sided p-value of the sample τ-b (as scipy's kendalltau)."),
            parameters.status_output(optional=True),
            parameters.csv_output(
                "OUTPUT_TABLE", "Table per ecoregion (CSV)",
                "One row per ecoregion and a row 'all': valid_cells, negative_share (0–1), "
                "mean_tau, mean_lower_tail, mean_upper_tail, most_common_family.", optional=True),
        ]

    def define_outputs(self):
        return [QgsProcessingOutputNumber("VALID_CELLS", "Fitted cells"),
                QgsProcessingOutputNumber("NEGATIVE_SHARE", "Share of cells with τ < 0")]
