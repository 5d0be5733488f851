"""Bayesian drivers: what acts on precipitation and soil moisture together, per ecoregion."""

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterVectorDestination,
)

from . import compat, parameters
from .base import SoilpAlgorithm, described


def integer(name: str, description: str, default: int, minimum: int, help_text: str,
            advanced: bool = False):
    return described(QgsProcessingParameterNumber(
        name, description, compat.NUMBER_INTEGER, defaultValue=default,
        minValue=minimum), help_text, advanced=advanced)


class BayesianDriversAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "bayesiandrivers"
    DISPLAY_NAME = "Bayesian drivers of dependence (per ecoregion)"
    GROUP_ID = "drivers"
    GROUP = "Drivers"
    STEP = "bayesian_drivers"
    ICON = "bayesian_drivers.svg"
    TAGS = ["bayesian", "brms", "pymc", "MCMC", "NUTS", "drivers", "ecoregion", "GPP", "LST",
            "air temperature", "quadrant", "k-means"]
    SHORT_DESCRIPTION = (
        "Per ecoregion, how air temperature, GPP and land surface temperature act on precipitation "
        "and soil moisture together (multivariate Bayesian model)."
    )
    HELP = (
        "For each ecoregion, how air temperature (Ta), GPP and land surface temperature (LST) "
        "and their interactions act on precipitation (P) and soil moisture (SM) together (paper "
        "section 2.2.3, figures 7–8): the multivariate model of brms "
        "bf(P ~ Ta*GPP*LST) + bf(SM ~ Ta*GPP*LST) with correlated residuals, on z-scores within "
        "the ecoregion, sampled with NUTS (pymc model; nutpie sampler by default). Each "
        "(ecoregion, term) gives a point (estimate for P, estimate for SM): quadrants II (−,+) "
        "and IV (+,−) mark a driver of negative dependence. K-means groups the points and a "
        "least-squares line is fitted across them. Ecoregions with too few cells or values are "
        "skipped with the reason in the log and the report; one that does not converge (an "
        "R-hat ≥ 1.05 or divergent transitions) stays in every output, flagged. The defaults "
        "are the paper's sampler settings; with the other defaults sampling takes seconds per "
        "ecoregion at them (about 2 s for 200 cells on a 2-core machine), minutes with the "
        "intercepts sampled (RANDOM_INTERCEPTS centred or non_centred)."
    )

    def define_parameters(self):
        return [
            parameters.time_stack("PRECIPITATION", "Precipitation time stack",
                                  "Precipitation (e.g. monthly volume)."),
            parameters.time_stack("SOIL_MOISTURE", "Soil moisture time stack",
                                  "Soil moisture of one layer."),
            parameters.time_stack("AIR_TEMPERATURE", "Air temperature time stack",
                                  "Air temperature (Ta)."),
            parameters.time_stack("GPP", "GPP time stack", "Gross primary production."),
            parameters.time_stack("LST", "Land surface temperature time stack",
                                  "Land surface temperature."),
            *parameters.ecoregions(),
            parameters.season(),
            parameters.choice(
                "DATA", "Data per ecoregion", [
                    ("cells", "Cells (multilevel)"),
                    ("ecoregion_mean", "Ecoregion mean series")],
                "cells: every valid (cell, time) row of up to MAX_CELLS cells, with correlated "
                "random intercepts per cell for both responses (the multilevel model). "
                "ecoregion_mean: one series, the mean over the ecoregion's cells at each step."),
            integer("MAX_CELLS", "Cells per ecoregion (DATA=cells)", 200, 2,
                    "A seeded random subsample of at most this many cells per ecoregion."),
            integer("CHAINS", "Chains", 4, 1, "MCMC chains (the paper: 4)."),
            integer("TUNE", "Warm-up iterations per chain", 2000, 0,
                    "Warm-up (tuning) iterations per chain, discarded (the paper: 2000)."),
            integer("DRAWS", "Draws per chain", 2000, 1,
                    "Kept iterations per chain (the paper: 4000 iterations of which 2000 "
                    "warm-up, so 2000)."),
            integer("MAX_TREEDEPTH", "Maximum tree depth", 10, 1,
                    "NUTS maximum tree depth (the paper: 10); hits are counted in the table.",
                    advanced=True),
            described(QgsProcessingParameterNumber(
                "TARGET_ACCEPT", "Target acceptance", compat.NUMBER_DOUBLE,
                defaultValue=0.8, minValue=0.5, maxValue=0.999),
                "NUTS target acceptance rate (brms's adapt_delta, 0.8 by default); raise it "
                "when there are divergent transitions.", advanced=True),
            integer("SEED", "Random seed", 0, 0,
                    "Seed of the cell subsample and the sampler: the same seed gives the same "
                    "posterior draws."),
            integer("N_CLUSTERS", "K-means clusters", 3, 1,
                    "Number of k-means clusters of the (estimate for P, estimate for SM) points."),
            parameters.choice(
                "SAMPLER", "Sampler", [("nutpie", "nutpie (fastest)"),
                                       ("pymc", "pymc's own NUTS")],
                "The NUTS implementation sampling the pymc model; both sample the same "
                "posterior.", advanced=True),
            parameters.choice(
                "RANDOM_INTERCEPTS", "Random intercepts (DATA=cells)", [
                    ("centred", "Centred"), ("non_centred", "Non-centred"),
                    ("marginalised", "Marginalised (integrated out)")],
                "How the per-cell random intercepts of DATA=cells are sampled; the model and "
                "its posterior are the same, only the sampler's geometry differs. centred: "
                "each cell's intercepts for P and SM are drawn around the ecoregion's "
                "intercepts; it mixes far better when every cell has many time steps (the "
                "usual case). non_centred: standard-normal offsets scaled by the random-effect "
                "covariance, as brms writes the model; try it when there are few time steps "
                "per cell and the centred form shows divergent transitions. marginalised: the "
                "intercepts are integrated out exactly (a Gaussian integral in closed form), so "
                "only the ecoregion-level parameters are sampled: no divergent transitions from "
                "the intercepts' funnel, as many parameters whatever MAX_CELLS; the cells' own "
                "intercepts are then not estimated (the table never lists them). The default: "
                "on the demo's synthetic world (4 × (2000 + 2000), 200 cells) it takes about 2 s "
                "per ecoregion with 0-2 divergent transitions per run, where centred "
                "intercepts (20 cells, diagonal metric) took 20-47 s and diverged in about half "
                "the ecoregions. Ignored for DATA=ecoregion_mean.",
                default=2, advanced=True),
            parameters.choice(
                "MASS_MATRIX", "Mass matrix (nutpie)", [
                    ("diagonal", "Diagonal"), ("low_rank", "Low-rank modified")],
                "The metric nutpie adapts during warm-up. diagonal: as Stan and brms adapt it. "
                "low_rank: nutpie's low-rank modified mass matrix, which follows the "
                "correlations between the interaction terms' coefficients and can need far "
                "fewer steps per draw. Both target the same posterior; pymc's own NUTS always "
                "uses a diagonal one. The default is low_rank: on an ecoregion-mean series it "
                "sampled 1.5 times faster with 4 times the effective sample size (make bench); "
                "with marginalised intercepts it converged on every ecoregion of the demo.",
                default=1, advanced=True),
            parameters.csv_output(
                "OUTPUT_TABLE", "Posterior summary (CSV)",
                "One row per (ecoregion, parameter, term, response): mean, sd, q2.5, q97.5, "
                "rhat, ess_bulk, ess_tail, with the residual correlation and each ecoregion's "
                "divergences, tree-depth hits and converged flag.", optional=True),
            described(QgsProcessingParameterVectorDestination(
                "OUTPUT_LAYER", "Ecoregions with drivers", compat.SOURCE_VECTOR_POLYGON),
                "The ecoregion polygons with, per term, the P and SM estimates (<term>_P, "
                "<term>_SM), the quadrant and the cluster, the status (with the reason when an "
                "ecoregion was skipped) and a converged flag."),
            described(QgsProcessingParameterFileDestination(
                "OUTPUT_FIGURE", "Driver figure (PNG)", "PNG files (*.png)", optional=True,
                createByDefault=False),
                "The paper's figure 7/8: one point per (ecoregion, term) coloured by term, "
                "k-means clusters as circles, the least-squares line in red, quadrant axes."),
            described(QgsProcessingParameterFileDestination(
                "OUTPUT_REPORT", "Drivers report (HTML)", "HTML files (*.html)", optional=True,
                createByDefault=False),
                "The figure, the convergence diagnostics per ecoregion and the ecoregions that "
                "did not converge or were skipped."),
        ]

    def define_outputs(self):
        return [QgsProcessingOutputNumber("ECOREGIONS_FITTED", "Ecoregions fitted"),
                QgsProcessingOutputNumber("ECOREGIONS_CONVERGED", "Ecoregions converged")]
