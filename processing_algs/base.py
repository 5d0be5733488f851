"""The base class every soilp Processing algorithm stands on.

An algorithm module declares its parameters, their help, its outputs and the engine step it runs;
this class does what they all share: collect the parameter values for the engine, launch it out
of process, relay its progress and log to ``QgsProcessingFeedback``, stop it on cancel, turn its
failure into one clear ``QgsProcessingException``, and load the outputs with their sidecar
``.qml`` styles.
"""

from __future__ import annotations

import configparser
import functools
import html
import os
import re
from pathlib import Path
from typing import Any, Optional

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from . import compat, engine

ICONS_DIR = engine.PLUGIN_DIR / "resources" / "icons"

#: Post-processors must outlive the algorithm instance that created them: Processing calls them
#: after ``processAlgorithm`` returned, from the main thread. Keyed by output path.
_STYLE_POST_PROCESSORS: dict[str, "SidecarStylePostProcessor"] = {}

#: parameter metadata keys: the help text, and the engine's value of each enum option
HELP_KEY = "soilp_help"
VALUES_KEY = "soilp_values"
#: metadata flag of a parameter for the plugin side only (e.g. which interpreter to run): not
#: sent to the engine, not part of the step's contract
PLUGIN_ONLY_KEY = "soilp_plugin_only"
#: metadata flag of a parameter QGIS must treat as optional (e.g. a model's raster input, so the
#: Run dialog starts empty) that a run nevertheless needs; checked before any work
REQUIRED_KEY = "soilp_required"

_NETCDF_SOURCE = re.compile(r'^NETCDF:"(?P<path>.+)":(?P<variable>[^:"]+)$')


def described(definition: QgsProcessingParameterDefinition, help_text: str,
              values: Optional[list[str]] = None, advanced: bool = False
              ) -> QgsProcessingParameterDefinition:
    """Attach help (shown in the help panel; as tooltip on QGIS ≥ 3.32), the engine values of an
    enum's options, and the advanced flag to a parameter definition."""
    metadata = dict(definition.metadata())
    metadata[HELP_KEY] = help_text
    if values is not None:
        metadata[VALUES_KEY] = list(values)
    definition.setMetadata(metadata)
    if hasattr(definition, "setHelp"):
        definition.setHelp(help_text)
    if advanced:
        definition.setFlags(definition.flags() | compat.FLAG_ADVANCED)
    return definition


def engine_choice(definition: QgsProcessingParameterEnum, value, index: int) -> str:
    """The engine value for an enum parameter's ``value``: the option it names (parameters made
    by ``parameters.choice`` accept names headless), else the one QGIS resolved to ``index``."""
    values = list(definition.metadata().get(VALUES_KEY) or definition.options())
    index_of_name = getattr(definition, "index_of_name", None)
    named = index_of_name(value) if index_of_name else None
    return values[index if named is None else named]


def missing_field(algorithm: QgsProcessingAlgorithm, definition: QgsProcessingParameterField,
                  parameters, context) -> Optional[str]:
    """A field parameter naming a field its parent layer does not have (QGIS does not check)."""
    parent_name = definition.parentLayerParameterName()
    if not parent_name or parameters.get(parent_name) in (None, ""):
        return None
    field = algorithm.parameterAsString(parameters, definition.name(), context) or \
        (definition.defaultValue() or "")
    if not field:
        return None
    layer = algorithm.parameterAsVectorLayer(parameters, parent_name, context)
    if not isinstance(layer, QgsVectorLayer):
        return None
    names = [f.name() for f in layer.fields()]
    if field not in names:
        return (f"{parent_name} layer '{layer.name()}' has no field '{field}' "
                f"(its fields: {', '.join(names) or 'none'})")
    return None


def wrong_geometry(algorithm: QgsProcessingAlgorithm,
                   definition: QgsProcessingParameterFeatureSource, parameters, context
                   ) -> Optional[str]:
    """A polygon-only source given points or lines (QGIS 3.22 does not refuse it itself)."""
    if not compat.has_source_type(definition.dataTypes(), compat.SOURCE_VECTOR_POLYGON) or \
            parameters.get(definition.name()) in (None, ""):
        return None
    layer = algorithm.parameterAsVectorLayer(parameters, definition.name(), context)
    if layer is None or layer.geometryType() == compat.GEOMETRY_POLYGON:
        return None
    kind = QgsWkbTypes.geometryDisplayString(layer.geometryType())
    return (f"{definition.name()} layer '{layer.name()}' has {kind.lower()} geometries; "
            f"it must be a polygon layer")


def layer_problem(algorithm: QgsProcessingAlgorithm, parameters, context) -> Optional[str]:
    """The first parameter that cannot work (a required one left empty, a missing field, a
    non-polygon layer where polygons are needed), checked before any work starts; None when all
    is well."""
    for definition in algorithm.parameterDefinitions():
        if definition.metadata().get(REQUIRED_KEY) and parameters.get(definition.name()) in (
                None, ""):
            return f"{definition.name()} ({definition.description()}) is required"
        if isinstance(definition, QgsProcessingParameterField):
            problem = missing_field(algorithm, definition, parameters, context)
        elif isinstance(definition, QgsProcessingParameterFeatureSource):
            problem = wrong_geometry(algorithm, definition, parameters, context)
        else:
            problem = None
        if problem:
            return problem
    return None


@functools.lru_cache(maxsize=1)
def plugin_metadata() -> dict[str, str]:
    """``metadata.txt``'s ``[general]`` entries (version, repository, ...)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(engine.PLUGIN_DIR / "metadata.txt", encoding="utf-8")
    return dict(parser["general"]) if parser.has_section("general") else {}


def help_url(algorithm_id: str) -> str:
    """The algorithm's page in the repository: ``docs/algorithms/<algorithm_id>.md``."""
    repository = plugin_metadata().get("repository", "").rstrip("/")
    if not repository:
        return ""
    return f"{repository}/blob/main/docs/algorithms/{algorithm_id}.md"


def setting_value(name: str) -> Optional[str]:
    """A soilp Processing setting, or None where Processing's settings are not available."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:  # pragma: no cover - Processing plugin absent
        return None
    value = ProcessingConfig.getSetting(name)
    return str(value) if value else None


def sidecar_style(path: str) -> Optional[str]:
    """The ``.qml`` beside an output file, if the engine wrote one."""
    candidate = Path(path).with_suffix(".qml")
    return str(candidate) if candidate.is_file() else None


def sidecar_legend(path: str) -> Optional[str]:
    """The legend picture beside an output raster (``<name>_legend.png``), if the engine wrote
    one (e.g. the ternary triangle of a ridge composite)."""
    candidate = Path(path).with_name(Path(path).stem + "_legend.png")
    return str(candidate) if candidate.is_file() else None


class SidecarStylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies the engine's sidecar ``.qml`` to an output layer once Processing has loaded it,
    and its legend picture, if any, as the layer's legend (Layers panel, print layouts)."""

    def __init__(self, qml_path: str):
        super().__init__()
        self.qml_path = qml_path

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS's name
        if layer is None or not layer.isValid():
            return
        message, ok = layer.loadNamedStyle(self.qml_path)
        if not ok:
            feedback.reportError(f"Could not apply the style {self.qml_path}: {message}")
        legend = sidecar_legend(self.qml_path)
        if legend:
            layer.setLegendPlaceholderImage(legend)
        layer.triggerRepaint()


def engine_source_of_layer(layer) -> str:
    """A path the engine can open for a raster layer (GDAL NetCDF sources as ``path:variable``)."""
    source = layer.source()
    decoded = QgsProviderRegistry.instance().decodeUri(layer.providerType(), source)
    path = decoded.get("path") or source
    match = _NETCDF_SOURCE.match(path) or _NETCDF_SOURCE.match(source)
    if match:
        return f"{match.group('path')}:{match.group('variable')}"
    return path


class SoilpAlgorithm(QgsProcessingAlgorithm):
    """Shared machinery of the soilp algorithms. Subclasses set the class attributes and
    implement ``define_parameters`` (each definition wrapped in ``described``) and
    ``define_outputs`` for outputs that are not files."""

    #: algorithm id within the provider (``soilp:<ALGORITHM_ID>``)
    ALGORITHM_ID = ""
    #: name in the toolbox
    DISPLAY_NAME = ""
    GROUP_ID = ""
    GROUP = ""
    #: engine step this algorithm runs (``python -m soilp_qgis <STEP>``)
    STEP = ""
    #: what the algorithm does, for the help panel (plain text or simple HTML)
    HELP = ""
    #: one line under the algorithm's name in the toolbox (and searched by it)
    SHORT_DESCRIPTION = ""
    #: words the toolbox search finds the algorithm by (e.g. "kendall", "tail dependence")
    TAGS: list[str] = []
    ICON = "soilp.svg"

    # ----------------------------------------------------------------- identity
    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self):
        return self.ALGORITHM_ID

    def displayName(self):  # noqa: N802
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(self.GROUP)

    def groupId(self):  # noqa: N802
        return self.GROUP_ID

    def icon(self):
        return QIcon(str(ICONS_DIR / self.ICON))

    def svgIconPath(self):  # noqa: N802
        return str(ICONS_DIR / self.ICON)

    def tr(self, text):
        return QCoreApplication.translate("soilp", text)

    def shortDescription(self):  # noqa: N802
        return self.tr(self.SHORT_DESCRIPTION) if self.SHORT_DESCRIPTION else ""

    def tags(self):
        return [self.tr(tag) for tag in self.TAGS]

    def helpUrl(self):  # noqa: N802
        return help_url(self.ALGORITHM_ID)

    def layer_name(self, name: str) -> str:
        """A loaded output's name in the project: the algorithm's name, then the output's, so
        that outputs of different algorithms ("Status per cell") stay apart."""
        prefix = f"{self.displayName()}: "
        return name if name.startswith(prefix) else prefix + name

    def shortHelpString(self):  # noqa: N802
        parts = [self.HELP.strip()]
        rows = []
        for definition in self.parameterDefinitions():
            text = definition.metadata().get(HELP_KEY)
            if text:
                rows.append(f"<dt><b>{html.escape(definition.description())}</b> "
                            f"<code>{definition.name()}</code></dt><dd>{text}</dd>")
        if rows:
            parts.append("<h3>Parameters</h3><dl>" + "".join(rows) + "</dl>")
        if self.STEP:
            parts.append(f"<p>Engine step: <code>python -m soilp_qgis {self.STEP}</code></p>")
        return "\n".join(parts)

    # ----------------------------------------------------------------- declaration
    def define_parameters(self) -> list[QgsProcessingParameterDefinition]:
        """The algorithm's parameters, in dialog order."""
        return []

    def define_outputs(self) -> list:
        """Outputs that are not file destinations (strings, numbers) the engine returns."""
        return []

    def initAlgorithm(self, config=None):  # noqa: N802
        for definition in self.define_parameters():
            self.addParameter(definition)
        for output in self.define_outputs():
            self.addOutput(output)

    # ----------------------------------------------------------------- validation
    def checkParameterValues(self, parameters, context):  # noqa: N802
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            return ok, message
        problem = layer_problem(self, parameters, context)
        return (False, problem) if problem else (True, "")

    # ----------------------------------------------------------------- running
    def engine_parameters(self, parameters, context, feedback) -> dict[str, Any]:
        """Parameter values as the engine takes them: lower-case names, layers as paths."""
        values: dict[str, Any] = {}
        for definition in self.parameterDefinitions():
            if definition.metadata().get(PLUGIN_ONLY_KEY):
                continue
            name = definition.name()
            values[name.lower()] = self._engine_value(definition, parameters, context, feedback)
        return values

    def _engine_value(self, definition, parameters, context, feedback):
        name = definition.name()
        if isinstance(definition, QgsProcessingParameterRasterDestination) or isinstance(
                definition, QgsProcessingParameterVectorDestination):
            value = self.parameterAsOutputLayer(parameters, name, context)
            return value or None
        if isinstance(definition, QgsProcessingParameterFileDestination):
            return self.parameterAsFileOutput(parameters, name, context) or None
        if isinstance(definition, QgsProcessingParameterFolderDestination):
            folder = self.parameterAsString(parameters, name, context)
            if folder:
                os.makedirs(folder, exist_ok=True)
            return folder or None
        if parameters.get(name) is None and not isinstance(definition, (
                QgsProcessingParameterBoolean, QgsProcessingParameterNumber,
                QgsProcessingParameterEnum)):
            return None
        if isinstance(definition, QgsProcessingParameterExtent):
            rectangle = self.parameterAsExtent(parameters, name, context,
                                               QgsCoordinateReferenceSystem("EPSG:4326"))
            return [rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(),
                    rectangle.yMaximum()]
        if isinstance(definition, QgsProcessingParameterRasterLayer):
            layer = self.parameterAsRasterLayer(parameters, name, context)
            return engine_source_of_layer(layer) if layer else None
        if isinstance(definition, QgsProcessingParameterMultipleLayers):
            layers = self.parameterAsLayerList(parameters, name, context)
            return [engine_source_of_layer(layer) for layer in layers] or None
        if isinstance(definition, (QgsProcessingParameterFeatureSource,
                                   QgsProcessingParameterVectorLayer)):
            return self.parameterAsCompatibleSourceLayerPath(
                parameters, name, context, ["gpkg", "shp"], "gpkg", feedback) or None
        if isinstance(definition, QgsProcessingParameterMapLayer):
            layer = self.parameterAsLayer(parameters, name, context)
            if layer is None:
                return None
            if isinstance(layer, QgsRasterLayer):
                return engine_source_of_layer(layer)
            return self._vector_layer_path(layer, context, feedback)
        if isinstance(definition, QgsProcessingParameterEnum):
            return engine_choice(definition, parameters.get(name),
                                 self.parameterAsEnum(parameters, name, context))
        if isinstance(definition, QgsProcessingParameterBoolean):
            return self.parameterAsBool(parameters, name, context)
        if isinstance(definition, QgsProcessingParameterNumber):
            if parameters.get(name) in (None, "") and definition.defaultValue() is None:
                return None
            if definition.dataType() == compat.NUMBER_INTEGER:
                return self.parameterAsInt(parameters, name, context)
            return self.parameterAsDouble(parameters, name, context)
        if isinstance(definition, QgsProcessingParameterField):
            fields = compat.field_names(self, parameters, name, context)
            return fields[0] if fields else None
        return self.parameterAsString(parameters, name, context) or None

    @staticmethod
    def _vector_layer_path(layer: QgsVectorLayer, context, feedback) -> str:
        """A file the engine can read for a vector layer: its own file, or a GeoPackage copy
        for layers that live only in QGIS (memory layers, database layers)."""
        if layer.providerType() == "ogr":
            decoded = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
            path = decoded.get("path", "")
            if path and os.path.isfile(path):
                layer_name = decoded.get("layerName")
                return f"{path}|layername={layer_name}" if layer_name else path
        target = QgsProcessingUtils.generateTempFilename("ecoregions.gpkg")
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        result = QgsVectorFileWriter.writeAsVectorFormatV2(
            layer, target, context.transformContext(), options)
        if result[0] != compat.WRITER_NO_ERROR:
            raise QgsProcessingException(f"Could not hand layer '{layer.name()}' to the engine: "
                                         f"{result[1]}")
        return target

    def engine_python(self, parameters, context) -> tuple[str, str]:
        """The interpreter this run uses and where it came from."""
        return engine.find_engine_python(setting_value(engine.SETTING_NAME))

    def engine_failed(self, python: str, exc: engine.EngineError) -> QgsProcessingException:
        """The one-line exception for a failed engine run."""
        if isinstance(exc, engine.EngineCancelled):
            return QgsProcessingException(f"{self.displayName()}: {exc}")
        if isinstance(exc, engine.EngineNotFound):
            return QgsProcessingException(str(exc))
        return QgsProcessingException(f"{self.displayName()} failed: {exc}")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        values = self.engine_parameters(parameters, context, feedback)
        try:
            python, source = self.engine_python(parameters, context)
        except engine.EngineError as exc:
            raise QgsProcessingException(str(exc)) from None
        feedback.pushDebugInfo(f"soilp engine: {python} (from {source})")
        params_file = QgsProcessingUtils.generateTempFilename(f"soilp_{self.STEP}.json")
        callbacks = engine.EngineCallbacks(
            progress=feedback.setProgress,
            info=feedback.pushInfo,
            warning=getattr(feedback, "pushWarning", feedback.pushInfo),
            debug=feedback.pushDebugInfo,
            console=feedback.pushConsoleInfo,
            command=getattr(feedback, "pushCommandInfo", feedback.pushInfo),
            is_cancelled=feedback.isCanceled,
        )
        try:
            run = engine.run_step(python, self.STEP, values, params_file, callbacks,
                                  dask_scheduler=setting_value(engine.DASK_SETTING_NAME))
        except engine.EngineError as exc:
            raise self.engine_failed(python, exc) from None

        results = self.collect_results(values, run.results)
        self.load_outputs(values, run, context)
        return results

    def collect_results(self, values: dict[str, Any], engine_results: dict[str, Any]):
        """Output values: every destination's path, plus what the engine returned by name."""
        results: dict[str, Any] = {}
        for definition in self.destinationParameterDefinitions():
            results[definition.name()] = values.get(definition.name().lower())
        output_names = {output.name() for output in self.outputDefinitions()}
        for key, value in engine_results.items():
            if key in output_names:
                results[key] = value
        return results

    def load_outputs(self, values: dict[str, Any], run: engine.EngineRun,
                     context: QgsProcessingContext) -> None:
        """Name every loaded output after the algorithm and the output, give it its sidecar
        style; load extra layers the engine asked for."""
        for definition in self.destinationParameterDefinitions():
            path = values.get(definition.name().lower())
            if path and context.willLoadLayerOnCompletion(path):
                details = context.layerToLoadOnCompletionDetails(path)
                details.name = self.layer_name(definition.description())
                self._attach_style(details, path)
        for layer in run.layers:
            path = layer["path"]
            if not os.path.exists(path.split("|")[0]):
                continue
            name = self.layer_name(layer["name"])
            details = QgsProcessingContext.LayerDetails(name, context.project(), name)
            context.addLayerToLoadOnCompletion(path, details)
            self._attach_style(context.layerToLoadOnCompletionDetails(path), path)

    @staticmethod
    def _attach_style(details, path: str) -> None:
        qml = sidecar_style(path.split("|")[0])
        if not qml:
            return
        processor = SidecarStylePostProcessor(qml)
        _STYLE_POST_PROCESSORS[path] = processor
        details.setPostProcessor(processor)
