"""The soilp Processing provider: its algorithms, its shipped models and its settings."""

from __future__ import annotations

import re
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMessageLog,
    QgsProcessingModelAlgorithm,
    QgsProcessingProvider,
)
from qgis.PyQt.QtGui import QIcon

from . import engine
from .aggregate_time import AggregateTimeAlgorithm
from .align_grid import AlignGridAlgorithm
from .base import layer_problem, plugin_metadata
from .bayesian_drivers import BayesianDriversAlgorithm
from .bayesian_drivers_layers import BayesianDriversLayersAlgorithm
from .check_engine import CheckEngineAlgorithm
from .copula_dependence import CopulaDependenceAlgorithm
from .ecoregion_series import EcoregionSeriesAlgorithm
from .import_stack import ImportStackAlgorithm
from .install_engine import InstallEngineAlgorithm
from .lagged_dependence import LaggedDependenceAlgorithm
from .rasterize_ecoregions import RasterizeEcoregionsAlgorithm
from .report import ReportAlgorithm
from .ridge_control import RidgeControlAlgorithm
from .shipped_models import install_shipped_models
from .synthetic_world import SyntheticWorldAlgorithm

MODELS_DIR = engine.PLUGIN_DIR / "resources" / "models"
ICON_PATH = engine.PLUGIN_DIR / "resources" / "icons" / "soilp.svg"

ALGORITHMS = [
    InstallEngineAlgorithm,
    CheckEngineAlgorithm,
    SyntheticWorldAlgorithm,
    ImportStackAlgorithm,
    AggregateTimeAlgorithm,
    AlignGridAlgorithm,
    RasterizeEcoregionsAlgorithm,
    EcoregionSeriesAlgorithm,
    CopulaDependenceAlgorithm,
    LaggedDependenceAlgorithm,
    RidgeControlAlgorithm,
    BayesianDriversAlgorithm,
    BayesianDriversLayersAlgorithm,
    ReportAlgorithm,
]


def engine_source_version() -> str:
    """``soilp_qgis.__version__`` as written in the engine sources beside the plugin."""
    text = (engine.PLUGIN_DIR / "soilp_qgis" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    return match.group(1) if match else "?"


class ShippedModel(QgsProcessingModelAlgorithm):
    """A model shipped in ``resources/models``: ``full_analysis.model3`` →
    ``soilp:fullanalysis``."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.loaded = self.fromFile(str(path))

    def name(self):
        return self.path.stem.replace("_", "")

    def icon(self):
        return QIcon(str(ICON_PATH))

    def svgIconPath(self):  # noqa: N802
        return str(ICON_PATH)

    def createInstance(self):  # noqa: N802
        return ShippedModel(self.path)

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """As for every soilp algorithm: a field missing from its layer (or points where
        polygons are needed) stops the model before its first step, not in the step using it."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        problem = layer_problem(self, parameters, context)
        return (False, problem) if problem else (True, "")


class SoilpProvider(QgsProcessingProvider):
    """Provider ``soilp``: soil moisture–precipitation dependence."""

    def id(self):
        return "soilp"

    def name(self):
        return "Soil moisture–precipitation dependence"

    def longName(self):  # noqa: N802
        return "Soil moisture–precipitation dependence (soilp)"

    def icon(self):
        return QIcon(str(ICON_PATH))

    def svgIconPath(self):  # noqa: N802
        return str(ICON_PATH)

    def versionInfo(self):  # noqa: N802
        """The plugin's version and that of the engine sources it ships (no engine is started)."""
        return f"{plugin_metadata().get('version', '?')} (engine {engine_source_version()})"

    def load(self):
        """Register the provider's settings (Processing › Options › Providers)."""
        QgsApplication.processingRegistry().providerAdded.connect(self._registered)
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except ImportError:  # pragma: no cover - Processing plugin absent
            return super().load()
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(Setting(
            self.name(), engine.SETTING_NAME,
            "Engine Python (interpreter with soilp_qgis's requirements; empty: "
            "SOILP_PYTHON or the plugin's .venv)", "", valuetype=Setting.FILE))
        ProcessingConfig.addSetting(Setting(
            self.name(), engine.DASK_SETTING_NAME,
            "Dask scheduler address for the engine's block work (empty: local processes)", ""))
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        install_shipped_models(log=lambda text: QgsMessageLog.logMessage(
            text, "soilp", Qgis.MessageLevel.Warning))
        return True

    def _registered(self, provider_id: str) -> None:
        """Once this provider is in the registry, load the shipped models again: during
        ``load()`` their soilp steps could not be resolved yet (the models' children had no
        algorithm, and validate() reported every step as not available)."""
        if provider_id != self.id():
            return
        QgsApplication.processingRegistry().providerAdded.disconnect(self._registered)
        self.refreshAlgorithms()

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except ImportError:  # pragma: no cover
            return
        for name in (engine.SETTING_NAME, engine.DASK_SETTING_NAME):
            ProcessingConfig.removeSetting(name)

    def loadAlgorithms(self):  # noqa: N802
        for algorithm_class in ALGORITHMS:
            self.addAlgorithm(algorithm_class())
        for model_path in sorted(Path(MODELS_DIR).glob("*.model3")):
            model = ShippedModel(model_path)
            if model.loaded:
                self.addAlgorithm(model)
