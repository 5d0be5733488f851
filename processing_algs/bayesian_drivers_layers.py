"""Bayesian drivers of several soil layers in one run: one engine process, one compiled model,
one progress bar (the paper's figures 7 and 8 have a column per layer)."""

from qgis.core import QgsProcessingParameterFolderDestination, QgsProcessingParameterMultipleLayers

from . import compat
from .base import described
from .bayesian_drivers import BayesianDriversAlgorithm
from .parameters import STACK_HELP

#: bayesiandrivers's outputs, written here per layer into OUTPUT_FOLDER
PER_LAYER_OUTPUTS = ("OUTPUT_TABLE", "OUTPUT_LAYER", "OUTPUT_FIGURE", "OUTPUT_REPORT")


class BayesianDriversLayersAlgorithm(BayesianDriversAlgorithm):
    ALGORITHM_ID = "bayesiandriverslayers"
    DISPLAY_NAME = "Bayesian drivers of dependence, several soil layers (per ecoregion)"
    STEP = "bayesian_drivers_layers"
    TAGS = BayesianDriversAlgorithm.TAGS + ["soil layers", "batch"]
    SHORT_DESCRIPTION = (
        "Bayesian drivers of each soil layer's dependence on precipitation, the layers in one "
        "run: the model compiled once, one progress bar."
    )
    HELP = (
        "Bayesian drivers of dependence (soilp:bayesiandrivers) for several soil layers at once, "
        "as the paper's figures 7 and 8 show them (a column per layer): every layer's model is "
        "sampled in one engine process with the same settings, so starting the engine, loading "
        "the sampler and compiling the model (about half a minute) are paid once instead of "
        "per layer, and one progress bar covers all layers. Each layer gets exactly what "
        "soilp:bayesiandrivers writes for it alone (the same seeds, so the same draws), in "
        "OUTPUT_FOLDER and named by its position and the stacks' time scale: for monthly "
        "stacks layer1_monthly_table.csv, layer1_monthly_ecoregions.gpkg, "
        "layer1_monthly_figure.png and layer1_monthly_report.html, then layer2_monthly_… "
        "(with _JJA etc. after the scale for one season); the ecoregion layers are loaded. "
        "Every layer's stack is checked against the others before any sampling. Headless, "
        "give SOIL_MOISTURE_LAYERS once per layer, top layer first."
    )

    def define_parameters(self):
        definitions = []
        for definition in super().define_parameters():
            name = definition.name()
            if name == "SOIL_MOISTURE":
                definitions.append(described(QgsProcessingParameterMultipleLayers(
                    "SOIL_MOISTURE_LAYERS", "Soil moisture time stacks (one per layer)",
                    compat.SOURCE_RASTER),
                    "Soil moisture of each layer, top layer first: the first layer's outputs are "
                    f"named layer1_…, the second's layer2_… {STACK_HELP}"))
            elif name not in PER_LAYER_OUTPUTS:
                definitions.append(definition)
        definitions.append(described(QgsProcessingParameterFolderDestination(
            "OUTPUT_FOLDER", "Output folder"),
            "Where each layer's table, ecoregion layer, figure and report are written "
            "(layer1_monthly_table.csv …), with each layer's provenance record in "
            "provenance/."))
        return definitions
