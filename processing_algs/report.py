"""Dependence report: a run's output folder as the paper's results section, one HTML page."""

from qgis.core import (
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
)

from . import compat, parameters
from .base import SoilpAlgorithm, described


class ReportAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "report"
    DISPLAY_NAME = "Dependence report"
    GROUP_ID = "report"
    GROUP = "Report"
    STEP = "report"
    ICON = "report.svg"
    TAGS = ["report", "HTML", "figures", "results", "summary", "provenance", "maps"]
    SHORT_DESCRIPTION = (
        "An HTML results section (maps, negative-dependence shares, lags, composites, drivers) "
        "from an analysis output folder."
    )
    HELP = (
        "Writes a self-contained HTML page that reads like the paper's results section, from an "
        "output folder of the full analysis (file names as in the plugin's docs/OUTPUTS.md; any "
        "subset of them): maps of Kendall's τ and the lower and upper tail dependence of the three "
        "soil layers at monthly and annual scale on a common colour scale (figures 2–3); the share "
        "of cells with negative dependence per layer and scale, overall and per ecoregion, checked "
        "against the τ rasters; the optimal lag; the ternary composites with their legends and "
        "class shares, monthly, per season and annual (figures 4–6); the Bayesian quadrant figures "
        "with their convergence table (figures 7–8); and the run's provenance (inputs with SHA-256 "
        "checksums, parameters, engine and library versions) from provenance.json. Figures are "
        "PNG files (report_*.png) written beside the page. A section whose files are missing says "
        "so in one line. ECOREGIONS (polygons or raster, optional) draw the land outline on "
        "the maps; without them an ecoregions.tif in the folder is used, else the outline of "
        "the cells with a value."
    )

    def define_parameters(self):
        return [
            described(QgsProcessingParameterFile(
                "INPUT_FOLDER", "Output folder of the analysis",
                behavior=compat.FILE_BEHAVIOR_FOLDER),
                "The folder the full analysis (soilp:fullanalysis) wrote into, or any folder with "
                "outputs laid out as in docs/OUTPUTS.md (copula/layer1_monthly_tau.tif, "
                "ridge/layer1_JJA_rgb.tif, bayes/monthly_table.csv, provenance.json …)."),
            described(QgsProcessingParameterString(
                "TITLE", "Title", optional=True),
                "The page's title; empty: 'Dependence of soil moisture on precipitation'."),
            *parameters.ecoregions(optional=True),
            described(QgsProcessingParameterFileDestination(
                "OUTPUT_HTML", "Report", "HTML files (*.html)"),
                "The HTML page; its figures (report_*.png) are written beside it. In the "
                "analysis's output folder it is report.html."),
        ]
