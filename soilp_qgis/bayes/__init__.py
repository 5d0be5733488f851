"""Bayesian drivers of dependence per ecoregion (paper section 2.2.3, figures 7–8).

Pure functions over arrays and tables; the CLI step reads the rasters and writes the outputs.

- :mod:`.data`: valid rows, z-scores and the seven terms of one ecoregion (DATA=cells or
  ecoregion_mean);
- :mod:`.model`: the pymc model (brms ``bf(P ~ Ta*GPP*LST) + bf(SM ~ Ta*GPP*LST)``, residual
  correlation, random intercepts per cell);
- :mod:`.sampling`: NUTS with nutpie, pymc or numpyro, progress per chain;
- :mod:`.summary`: posterior table and per-ecoregion diagnostics;
- :mod:`.quadrants`: quadrants, k-means clusters, least-squares line;
- :mod:`.report`: the driver figure and the HTML report;
- :mod:`.drivers`: the per-ecoregion loop.
"""

from soilp_qgis.bayes.data import (DATA_MODES, PREDICTORS, RESPONSES, TERMS, EcoregionData,
                                   EcoregionSkipped, assemble_ecoregion)
from soilp_qgis.bayes.drivers import DriverProgress, fit_ecoregion, fit_ecoregions
from soilp_qgis.bayes.model import build_driver_model
from soilp_qgis.bayes.quadrants import (DriverPoints, cluster_points, driver_points,
                                        least_squares_line, quadrant)
from soilp_qgis.bayes.report import driver_figure, figure_png, report_html, write_report
from soilp_qgis.bayes.sampling import SAMPLERS, DriverSampler, Posterior, SamplerSettings
from soilp_qgis.bayes.summary import (EcoregionFit, coefficient_table, diagnostics_table,
                                      posterior_table)

__all__ = [
    "DATA_MODES", "PREDICTORS", "RESPONSES", "TERMS", "SAMPLERS", "EcoregionData",
    "EcoregionSkipped", "assemble_ecoregion", "build_driver_model", "DriverSampler", "Posterior",
    "SamplerSettings", "EcoregionFit", "posterior_table", "coefficient_table",
    "diagnostics_table", "DriverPoints", "quadrant", "cluster_points", "least_squares_line",
    "driver_points", "driver_figure", "figure_png", "report_html", "write_report",
    "DriverProgress", "fit_ecoregion", "fit_ecoregions",
]
