"""Check engine: proves the plugin → engine chain and reports the engine's library versions."""

from qgis.core import QgsProcessingOutputString

from .base import SoilpAlgorithm


class CheckEngineAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "checkengine"
    DISPLAY_NAME = "Check engine"
    GROUP_ID = "setup"
    GROUP = "Setup"
    STEP = "check"
    ICON = "check_engine.svg"
    HELP = (
        "Starts the soilp engine (the separate Python environment that does the analysis) and "
        "reports its version and the versions of the libraries it stands on: numpy, xarray, "
        "rasterio, pyvinecopulib, scikit-learn, pymc and geopandas. Run it once after installing "
        "the plugin: if the engine is missing or broken, the message says how to install it."
    )

    def define_outputs(self):
        return [
            QgsProcessingOutputString("ENGINE_VERSION", "Engine version"),
            QgsProcessingOutputString("PYTHON", "Engine Python interpreter"),
            QgsProcessingOutputString("PYTHON_VERSION", "Engine Python version"),
            QgsProcessingOutputString("VERSIONS", "Library versions"),
        ]

    def collect_results(self, values, engine_results):
        results = super().collect_results(values, engine_results)
        versions = engine_results.get("VERSIONS", {})
        results["VERSIONS"] = ", ".join(f"{name} {version}" for name, version in versions.items())
        return results
