"""Bayesian drivers of several soil layers and time scales in one run: one engine process, one
compiled model, one progress bar (the paper's figures 7 and 8: monthly and annual, a column per
soil layer)."""

from qgis.core import QgsProcessingParameterFolderDestination, QgsProcessingParameterMultipleLayers

from . import compat
from .base import HELP_KEY, described
from .bayesian_drivers import BayesianDriversAlgorithm
from .parameters import STACK_HELP

#: bayesiandrivers's outputs, written here per layer and scale into OUTPUT_FOLDER
PER_LAYER_OUTPUTS = ("OUTPUT_TABLE", "OUTPUT_LAYER", "OUTPUT_FIGURE", "OUTPUT_REPORT")
#: bayesiandrivers's stacks given here once per time scale: name → label
PER_SCALE_STACKS = {"PRECIPITATION": "Precipitation stacks (one per scale)",
                    "AIR_TEMPERATURE": "Air temperature stacks (one per scale)",
                    "GPP": "GPP stacks (one per scale)",
                    "LST": "LST stacks (one per scale)"}


def stacks(name: str, description: str, help_text: str):
    return described(QgsProcessingParameterMultipleLayers(name, description, compat.SOURCE_RASTER),
                     help_text)


class BayesianDriversLayersAlgorithm(BayesianDriversAlgorithm):
    ALGORITHM_ID = "bayesiandriverslayers"
    DISPLAY_NAME = "Bayesian drivers of dependence, several soil layers and scales (per ecoregion)"
    STEP = "bayesian_drivers_layers"
    TAGS = BayesianDriversAlgorithm.TAGS + ["soil layers", "time scales", "monthly", "annual",
                                            "batch"]
    SHORT_DESCRIPTION = (
        "Bayesian drivers of each soil layer's dependence on precipitation at each time scale, "
        "in one run: the model compiled once, one progress bar."
    )
    HELP = (
        "Bayesian drivers of dependence (soilp:bayesiandrivers) for several soil layers and time "
        "scales at once, as the paper's figures 7 (monthly) and 8 (annual) show them, a column "
        "per layer: every model is sampled in one engine process with the same settings, so "
        "starting the engine, loading the sampler and compiling the model (about half a "
        "minute) are paid once instead of per layer and scale, and one progress bar covers "
        "them all. Give precipitation, air temperature, GPP and LST once per time scale "
        "(e.g. a monthly and an annual stack of each) and the soil moisture of each layer at "
        "each scale: each soil moisture stack is fitted with the stacks of its own time scale, "
        "and the first one of a scale is layer 1, the next layer 2, and so on. Each gets "
        "exactly what soilp:bayesiandrivers writes for it alone (the same seeds, so the same "
        "draws), in OUTPUT_FOLDER, named by layer and scale: layer1_monthly_table.csv, "
        "layer1_monthly_ecoregions.gpkg, layer1_monthly_figure.png, "
        "layer1_monthly_report.html, then layer2_monthly_…, layer1_annual_… (with _JJA etc. "
        "after the scale for one season); the ecoregion layers are loaded. Every stack is "
        "checked against the others before any sampling. Headless, repeat a parameter for "
        "each of its stacks: SOIL_MOISTURE_LAYERS=a.tif SOIL_MOISTURE_LAYERS=b.tif."
    )

    def define_parameters(self):
        definitions = []
        for definition in super().define_parameters():
            name = definition.name()
            if name == "SOIL_MOISTURE":
                definitions.append(stacks(
                    "SOIL_MOISTURE_LAYERS",
                    "Soil moisture stacks (per layer and scale)",
                    "Soil moisture of each layer at each time scale, top layer first within a "
                    "scale: the first monthly stack's outputs are named layer1_monthly_…, the "
                    f"second's layer2_monthly_… {STACK_HELP}"))
            elif name in PER_SCALE_STACKS:
                definitions.append(stacks(
                    name, PER_SCALE_STACKS[name],
                    f"{definition.metadata().get(HELP_KEY, '')} One stack per time scale "
                    "(monthly, annual …); each soil moisture stack is fitted with the one of "
                    "its own time scale.".strip()))
            elif name not in PER_LAYER_OUTPUTS:
                definitions.append(definition)
        definitions.append(described(QgsProcessingParameterFolderDestination(
            "OUTPUT_FOLDER", "Output folder"),
            "Where each layer's table, ecoregion layer, figure and report are written at each "
            "time scale (layer1_monthly_table.csv …), with each one's provenance record in "
            "provenance/."))
        return definitions
