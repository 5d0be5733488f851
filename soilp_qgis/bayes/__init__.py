"""Bayesian drivers of dependence per ecoregion (paper section 2.2.3, figures 7–8).

Pure functions over arrays and tables; the CLI step reads the rasters and writes the outputs.

- :mod:`.data`: valid rows, z-scores and the seven terms of one ecoregion (DATA=cells or
  ecoregion_mean);
- :mod:`.model`: the pymc model (brms ``bf(P ~ Ta*GPP*LST) + bf(SM ~ Ta*GPP*LST)``, residual
  correlation, random intercepts per cell);
- :mod:`.likelihood`: the likelihood with the cells' intercepts integrated out, as one compiled
  operation with its gradient written out (what the sampler evaluates most);
- :mod:`.sampling`: NUTS with nutpie, pymc or numpyro, progress per chain;
- :mod:`.summary`: posterior table and per-ecoregion diagnostics;
- :mod:`.quadrants`: quadrants, k-means clusters, least-squares line;
- :mod:`.report`: the driver figure and the HTML report;
- :mod:`.drivers`: the per-ecoregion loop.
"""

from importlib import import_module

#: public name -> submodule; imported on first use, so that reading a table or drawing a figure
#: (the report) does not import pymc
_WHERE = {
    **dict.fromkeys(("DATA_MODES", "PREDICTORS", "RESPONSES", "TERMS", "EcoregionData",
                     "EcoregionSkipped", "assemble_ecoregion"), "data"),
    **dict.fromkeys(("DriverProgress", "fit_ecoregion", "fit_ecoregions"), "drivers"),
    "build_driver_model": "model",
    **dict.fromkeys(("DriverPoints", "cluster_points", "driver_points", "least_squares_line",
                     "negative_drivers", "quadrant"), "quadrants"),
    **dict.fromkeys(("driver_figure", "driver_panels_figure", "figure_png", "report_html",
                     "write_report"), "report"),
    **dict.fromkeys(("SAMPLERS", "DriverSampler", "Posterior", "SamplerSettings"), "sampling"),
    **dict.fromkeys(("EcoregionFit", "coefficient_table", "diagnostics_table", "posterior_table",
                     "run_convergence"), "summary"),
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = sorted(_WHERE)
