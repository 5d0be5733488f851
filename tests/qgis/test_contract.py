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
LAYERS = ("raster", "vector", "layer", "folder", "file")


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
    if isinstance(definition, QgsProcessingParameterCrs):
        return "crs"
    if isinstance(definition, QgsProcessingParameterFile):
        return "folder" if definition.behavior() == QgsProcessingParameterFile.Behavior.Folder \
            else "file"
    if isinstance(definition, QgsProcessingParameterString):
        return "string"
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


def test_every_algorithm_runs_a_described_step(soilp_provider, described):
    algorithms = soilp_algorithms(soilp_provider)
    assert len(algorithms) >= 12
    assert {algorithm.STEP for algorithm in algorithms} <= set(described)


def parameter_problems(algorithm, described) -> list[str]:
    """How the algorithm's parameters differ from its step's contract (empty: they agree)."""
    engine = {row["name"]: row for row in described[algorithm.STEP]["parameters"]}
    definitions = {d.name(): d for d in algorithm.parameterDefinitions()}
    if list(definitions) != list(engine):
        return [f"names: QGIS {list(definitions)}, engine {list(engine)}"]
    problems = []
    for name, definition in definitions.items():
        row = engine[name]
        kind = qgis_type(definition)
        if kind != row["type"]:
            problems.append(f"{name}: QGIS {kind}, engine {row['type']}")
            continue
        optional = bool(definition.flags() & QgsProcessingParameterDefinition.FlagOptional)
        if kind in LAYERS and row["required"] != (not optional):
            problems.append(f"{name}: required differs")
        if kind == "choice":
            values = definition.metadata().get(VALUES_KEY) or definition.options()
            if values != row["choices"]:
                problems.append(f"{name}: choices QGIS {values}, engine {row['choices']}")
            elif values[int(definition.defaultValue())] != row["default"]:
                problems.append(f"{name}: default differs")
        elif kind in ("integer", "number"):
            if definition.defaultValue() != row["default"]:
                problems.append(f"{name}: default QGIS {definition.defaultValue()}, engine "
                                f"{row['default']}")
            for bound, qgis_value, sign in (("minimum", definition.minimum(), -1),
                                            ("maximum", definition.maximum(), 1)):
                if bound in row and qgis_value != row[bound]:
                    problems.append(f"{name}: {bound} QGIS {qgis_value}, engine {row[bound]}")
                if bound not in row and not sign * qgis_value >= UNBOUNDED:
                    problems.append(f"{name}: QGIS {bound} {qgis_value}, engine none")
        elif kind in ("boolean", "field") and definition.defaultValue() != row["default"]:
            problems.append(f"{name}: default QGIS {definition.defaultValue()}, engine "
                            f"{row['default']}")
        elif kind in ("string", "crs") and (definition.defaultValue() or None) != row["default"]:
            problems.append(f"{name}: default QGIS {definition.defaultValue()!r}, engine "
                            f"{row['default']!r}")
    return problems


def test_parameters_match_the_engine_contract(soilp_provider, described):
    problems = {algorithm.id(): parameter_problems(algorithm, described)
                for algorithm in soilp_algorithms(soilp_provider)}
    assert {key: value for key, value in problems.items() if value} == {}


def test_a_difference_is_found(soilp_provider, described):
    """The comparison is not vacuous: a changed default, type or name is reported."""
    algorithm = soilp_provider.algorithm("laggeddependence")
    changed = json.loads(json.dumps(described))
    rows = changed["lagged_dependence"]["parameters"]
    rows[2]["default"] = 6                                   # MAX_LAG
    rows[3]["type"] = "number"                               # MIN_OBSERVATIONS
    assert parameter_problems(algorithm, changed) == [
        "MAX_LAG: default QGIS 12, engine 6", "MIN_OBSERVATIONS: QGIS integer, engine number"]
    rows[0]["name"] = "RAIN"
    assert parameter_problems(algorithm, changed)[0].startswith("names:")


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
