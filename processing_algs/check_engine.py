"""Check engine: proves the plugin → engine chain and reports the engine's library versions."""

from qgis.core import QgsProcessingException, QgsProcessingOutputString, QgsProcessingParameterFile

from . import compat, engine
from .base import PLUGIN_ONLY_KEY, SoilpAlgorithm, described


class CheckEngineAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "checkengine"
    DISPLAY_NAME = "Check engine"
    GROUP_ID = "setup"
    GROUP = "Setup"
    STEP = "check"
    ICON = "check_engine.svg"
    TAGS = ["engine", "install", "python", "versions", "setup", "environment"]
    SHORT_DESCRIPTION = "Is the engine's Python environment complete? Lists its library versions."
    HELP = (
        "Starts the soilp engine (the separate Python environment that does the analysis) and "
        "reports its version and the versions of the libraries it stands on (numpy, xarray, "
        "rasterio, pyvinecopulib, scikit-learn, pymc, geopandas, …). It fails, naming them, when "
        "a library is missing or older than the engine needs; then run <i>Install or update "
        "engine</i> (<code>soilp:installengine</code>). Run it once after installing the plugin."
    )

    def define_parameters(self):
        python = described(
            QgsProcessingParameterFile(
                "PYTHON", "Engine Python to check",
                behavior=compat.FILE_BEHAVIOR_FILE, fileFilter=engine.INTERPRETER_FILTER,
                optional=True),
            "Empty: the engine the algorithms use (Processing › Options › Providers › Engine "
            "Python, else SOILP_PYTHON, else the plugin's .venv). Or another interpreter to check, "
            "e.g. before pointing the setting at it.")
        python.setMetadata({**python.metadata(), PLUGIN_ONLY_KEY: True})
        return [python]

    def define_outputs(self):
        return [
            QgsProcessingOutputString("ENGINE_VERSION", "Engine version"),
            QgsProcessingOutputString("PYTHON", "Engine Python interpreter"),
            QgsProcessingOutputString("PYTHON_VERSION", "Engine Python version"),
            QgsProcessingOutputString("VERSIONS", "Library versions"),
        ]

    def engine_python(self, parameters, context) -> tuple[str, str]:
        chosen = self.parameterAsFile(parameters, "PYTHON", context)
        if chosen:
            return engine.find_engine_python(chosen, source="the PYTHON parameter")
        return super().engine_python(parameters, context)

    def engine_failed(self, python: str, exc: engine.EngineError) -> QgsProcessingException:
        if isinstance(exc, engine.EngineNotFound):
            return QgsProcessingException(str(exc))
        return QgsProcessingException(f"The soilp engine '{python}' cannot run the analysis: "
                                      f"{exc}. {engine.install_hint()}")

    def collect_results(self, values, engine_results):
        results = super().collect_results(values, engine_results)
        versions = engine_results.get("VERSIONS", {})
        results["VERSIONS"] = ", ".join(f"{name} {version}" for name, version in versions.items())
        return results
