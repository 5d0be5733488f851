"""Every toolbox algorithm asks for exactly what its engine step reads: the same parameter names
in the same order, types, required layers, defaults, enum values (the engine values in
``soilp_values``) and number ranges as ``python -m soilp_qgis describe`` prints (run in the
engine's own interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
)

ROOT = Path(__file__).resolve().parents[2]
VALUES_KEY = "soilp_values"
#: a number parameter without a bound reports ±DBL_MAX (or a value near it)
UNBOUNDED = 1e300

#: inputs whose absence the engine refuses exactly when QGIS does (values have defaults instead)
LAYERS = ("raster", "raster_list", "vector", "layer", "folder", "file")


def qgis_type(definition) -> str:
    """The engine's name (``contract.py``) for a QGIS parameter class."""
    if isinstance(definition, QgsProcessingParameterRasterDestination):
        return "raster_destination"
    if isinstance(definition, QgsProcessingParameterVectorDestination):
        return "vector_destination"
    if isinstance(definition, QgsProcessingParameterFileDestination):
        return "file_destination"
    if isinstance(definition, QgsProcessingParameterFolderDestination):
        return "folder_destination"
    if isinstance(definition, QgsProcessingParameterRasterLayer):
        return "raster"
    if isinstance(definition, QgsProcessingParameterMultipleLayers):
        return "raster_list"
    if isinstance(definition, (QgsProcessingParameterFeatureSource,
                               QgsProcessingParameterVectorLayer)):
        return "vector"
    if isinstance(definition, QgsProcessingParameterMapLayer):
        return "layer"
    if isinstance(definition, QgsProcessingParameterField):
        return "field"
    if isinstance(definition, QgsProcessingParameterEnum):
        return "choice"
    if isinstance(definition, QgsProcessingParameterBoolean):
        return "boolean"
    if isinstance(definition, QgsProcessingParameterNumber):
        integer = definition.dataType() == QgsProcessingParameterNumber.Type.Integer \
            if hasattr(QgsProcessingParameterNumber, "Type") else definition.dataType() == 0
        return "integer" if integer else "number"
    if isinstance(definition, QgsProcessingParameterExtent):
        return "extent"
    if isinstance(definition, QgsProcessingParameterFile):
        return "folder" if definition.behavior() == QgsProcessingParameterFile.Behavior.Folder \
            else "file"
    if isinstance(definition, QgsProcessingParameterString):
        return "string"
    if isinstance(definition, QgsProcessingParameterCrs):
        return "crs"
    return type(definition).__name__


@pytest.fixture(scope="module")
def described(engine_python) -> dict:
    """``describe`` of every engine step, from the engine's interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([engine_python, "-m", "soilp_qgis", "describe"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def soilp_algorithms(provider):
    return [algorithm for algorithm in provider.algorithms() if getattr(algorithm, "STEP", "")]


#: every algorithm that runs an engine step; one running a step but missing here fails below
ENGINE_ALGORITHMS = (
    "checkengine", "syntheticworld", "importstack", "aggregatetime", "aligngrid",
    "rasterizeecoregions", "ecoregionseries", "copuladependence", "laggeddependence",
    "ridgecontrol", "bayesiandrivers", "bayesiandriverslayers", "report")


def test_every_algorithm_runs_a_described_step(soilp_provider, described):
    algorithms = soilp_algorithms(soilp_provider)
    assert sorted(a.name() for a in algorithms) == sorted(ENGINE_ALGORITHMS)
    assert {algorithm.STEP for algorithm in algorithms} <= set(described)


@pytest.mark.parametrize("algorithm_id", ENGINE_ALGORITHMS)
def test_parameters_match_the_engine_contract(soilp_provider, described, algorithm_id):
    algorithm = soilp_provider.algorithm(algorithm_id)
    engine = {row["name"]: row for row in described[algorithm.STEP]["parameters"]}
    definitions = {d.name(): d for d in algorithm.parameterDefinitions()
                   if not d.metadata().get("soilp_plugin_only")}  # e.g. Check engine's PYTHON
    assert list(definitions) == list(engine), "names (and their order) differ"
    for name, definition in definitions.items():
        row = engine[name]
        kind = qgis_type(definition)
        assert kind == row["type"], f"{name}: QGIS {kind}, engine {row['type']}"
        optional = bool(definition.flags() & QgsProcessingParameterDefinition.FlagOptional)
        if kind in LAYERS:
            assert row["required"] == (not optional), f"{name}: required differs"
        if kind == "choice":
            values = definition.metadata().get(VALUES_KEY) or definition.options()
            assert values == row["choices"], f"{name}: choices differ"
            assert values[int(definition.defaultValue())] == row["default"], name
        elif kind in ("integer", "number"):
            assert definition.defaultValue() == row["default"], f"{name}: default differs"
            for bound, qgis_value, unbounded in (
                    ("minimum", definition.minimum(), lambda v: v <= -UNBOUNDED),
                    ("maximum", definition.maximum(), lambda v: v >= UNBOUNDED)):
                if bound in row:
                    assert qgis_value == row[bound], f"{name}: {bound} differs"
                else:
                    assert unbounded(qgis_value), f"{name}: QGIS {bound} {qgis_value}, engine none"
        elif kind in ("boolean", "field"):
            assert definition.defaultValue() == row["default"], f"{name}: default differs"
        elif kind == "string":
            assert (definition.defaultValue() or None) == row["default"], name


def test_the_engine_refuses_a_parameter_no_algorithm_sends(engine_python, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [engine_python, "-m", "soilp_qgis", "lagged_dependence", "precipitation=p.tif",
         "soil_moisture=s.tif", "max_lags=6"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120)
    assert completed.returncode == 1
    error = json.loads(completed.stdout.splitlines()[-1][len("@soilp "):])["error"]
    assert error.startswith("unknown parameter MAX_LAGS for step lagged_dependence; known: "
                            "PRECIPITATION, SOIL_MOISTURE, MAX_LAG,")
