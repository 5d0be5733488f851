"""The provider as the toolbox and processing.run see it."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest
from conftest import ROOT
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterRasterLayer,
    QgsProject,
)


def test_metadata_declares_a_processing_plugin_for_qgis_3_22_to_4():
    metadata = configparser.ConfigParser()
    metadata.read(ROOT / "metadata.txt", encoding="utf-8")
    general = metadata["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["qgisMaximumVersion"] == "4.99"
    assert general["hasProcessingProvider"] == "yes"
    assert general["category"] == "Analysis"
    assert "supportsQt6" not in general
    assert (ROOT / general["icon"]).is_file()


def test_provider_is_registered_with_its_algorithms(soilp_provider):
    registry = QgsApplication.processingRegistry()
    assert registry.providerById("soilp") is soilp_provider
    assert soilp_provider.name() == "Soil moisture–precipitation dependence"
    assert not soilp_provider.icon().isNull()
    algorithm = registry.algorithmById("soilp:checkengine")
    assert algorithm is not None and algorithm.displayName() == "Check engine"
    for alg in soilp_provider.algorithms():
        assert Path(alg.svgIconPath()).is_file(), alg.id()
        assert alg.shortHelpString().strip(), f"{alg.id()} has no help"


def test_checkengine_through_processing_run(soilp_provider, engine_python):
    import processing

    result = processing.run("soilp:checkengine", {})
    assert result["PYTHON"] == engine_python
    # the versions come from the engine's interpreter, not from QGIS's Python
    import subprocess
    numpy_version = subprocess.run([engine_python, "-c", "import numpy; print(numpy.__version__)"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    assert f"numpy {numpy_version}" in result["VERSIONS"]
    assert "pyvinecopulib" in result["VERSIONS"] and "pymc" in result["VERSIONS"]


def test_wrong_engine_path_says_where_it_looked_and_how_to_install(soilp_provider, monkeypatch):
    import processing

    monkeypatch.setenv("SOILP_PYTHON", "/nonexistent/python")
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:checkengine", {})
    message = str(raised.value)
    assert "'/nonexistent/python' from the SOILP_PYTHON variable does not exist" in message
    assert "soilp:installengine" in message and "\n" not in message


def test_broken_engine_gives_one_clear_line(soilp_provider, monkeypatch, tmp_path):
    import processing

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\n"
                    "echo \"ModuleNotFoundError: No module named 'numpy'\" >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SOILP_PYTHON", str(fake))
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:checkengine", {})
    message = str(raised.value)
    assert "lacks the library 'numpy'" in message
    assert "soilp:installengine" in message and "\n" not in message


def test_enum_options_by_name_index_or_label(soilp_provider):
    registry = QgsApplication.processingRegistry()
    statistic = registry.algorithmById("soilp:aggregatetime").parameterDefinition("STATISTIC")
    for value in ("wet_day_count", "Wet-day count", "WET_DAY_COUNT", 2, "2"):
        assert statistic.checkValueIsAcceptable(value), value
    for value in ("wet_days", 17, ""):
        assert not statistic.checkValueIsAcceptable(value), value
    assert statistic.valueAsPythonString("wet_day_count", QgsProcessingContext()) == \
        "'wet_day_count'"
    copy = statistic.clone()
    assert copy.checkValueIsAcceptable("sum") and copy.options() == statistic.options()
    assert "wet_day_count" in statistic.help()


def test_option_names_survive_a_model_file_round_trip(soilp_provider, tmp_path):
    """A model whose step gives STATISTIC by name, saved and loaded again: valid, and it runs
    with the named option (the wet-day count, checked against the values)."""
    import numpy as np
    import processing
    from conftest import daily_dates, read_with_gdal, write_daily_stack_with_gdal

    model = QgsProcessingModelAlgorithm("Wet days", "tests")
    model.addModelParameter(QgsProcessingParameterRasterLayer("STACK", "Daily stack"),
                            QgsProcessingModelParameter("STACK"))
    child = QgsProcessingModelChildAlgorithm("soilp:aggregatetime")
    child.setChildId("aggregate")
    child.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter(
        "STACK")])
    for name, value in (("SCALE", "monthly"), ("STATISTIC", "wet_day_count"),
                        ("WET_DAY_THRESHOLD", 1.0), ("MIN_COVERAGE", 0.9), ("PROCESSES", 1)):
        child.addParameterSources(name, [QgsProcessingModelChildParameterSource.fromStaticValue(
            value)])
    output = QgsProcessingModelOutput("WET_DAYS")
    output.setChildOutputName("OUTPUT")
    child.setModelOutputs({"WET_DAYS": output})
    model.addChildAlgorithm(child)
    path = tmp_path / "wet_days.model3"
    assert model.toFile(str(path))

    loaded = QgsProcessingModelAlgorithm()
    assert loaded.fromFile(str(path))
    assert loaded.childAlgorithm("aggregate").parameterSources()["STATISTIC"][0].staticValue() \
        == "wet_day_count"
    valid, errors = loaded.validate()
    assert valid, errors

    rng = np.random.default_rng(4)
    values = rng.gamma(0.8, 3.0, size=(31, 2, 2)) * (rng.random((31, 2, 2)) > 0.4)
    stack = write_daily_stack_with_gdal(tmp_path / "daily.tif", values,
                                        daily_dates("2003-03-01", 31))
    result = processing.run(loaded, {"STACK": str(stack),
                                     "aggregate:WET_DAYS": str(tmp_path / "wet.tif")})
    np.testing.assert_array_equal(read_with_gdal(result["aggregate:WET_DAYS"]),
                                  (values >= 1.0).sum(axis=0))


def test_shipped_model_steps_resolve_once_the_provider_is_registered(soilp_provider):
    """The shipped models are built while the provider loads, before it is in the registry;
    they are built again once it is, so none of their soilp steps is 'not available'."""
    model = QgsApplication.processingRegistry().algorithmById("soilp:fullanalysis")
    assert model is not None
    children = model.childAlgorithms()
    assert children and all(child.algorithm() is not None for child in children.values())
    _, errors = model.validate()
    assert not [error for error in errors if "not available" in error]


def test_provider_version_info_and_algorithm_identity(soilp_provider):
    version = configparser.ConfigParser()
    version.read(ROOT / "metadata.txt", encoding="utf-8")
    plugin_version = version["general"]["version"]
    engine_version = (ROOT / "soilp_qgis" / "__init__.py").read_text().split(
        '__version__ = "')[1].split('"')[0]
    assert soilp_provider.versionInfo() == f"{plugin_version} (engine {engine_version})"
    repository = version["general"]["repository"]
    for alg in soilp_provider.algorithms():
        if alg.id() == "soilp:fullanalysis":
            continue
        assert alg.helpUrl() == f"{repository}/blob/main/docs/algorithms/{alg.name()}.md"
    check = QgsApplication.processingRegistry().algorithmById("soilp:checkengine")
    assert "versions" in check.tags() and check.shortDescription()


class CommandRecorder(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.commands = []

    def pushCommandInfo(self, info):  # noqa: N802 - QGIS's name
        self.commands.append(info)


def test_engine_command_line_is_logged_and_repeats_the_run(soilp_provider, engine_python):
    """The logged command (pushCommandInfo) run by hand in a shell gives the same result."""
    import json
    import subprocess

    import processing

    feedback = CommandRecorder()
    result = processing.run("soilp:checkengine", {}, feedback=feedback)
    [command] = feedback.commands
    assert f"{engine_python} -m soilp_qgis check --params " in command
    by_hand = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert by_hand.returncode == 0, by_hand.stderr
    last = json.loads(by_hand.stdout.strip().splitlines()[-1].split(" ", 1)[1])
    assert last["result"]["PYTHON"] == result["PYTHON"]


def test_loaded_outputs_carry_the_algorithm_name(soilp_provider, tmp_path):
    import numpy as np
    import processing
    from conftest import daily_dates, write_daily_stack_with_gdal

    values = np.full((31, 1, 2), 2.0)
    stack = write_daily_stack_with_gdal(tmp_path / "d.tif", values, daily_dates("2004-05-01", 31))
    project = QgsProject.instance()
    before = set(project.mapLayers())
    processing.runAndLoadResults("soilp:aggregatetime", {
        "INPUT": str(stack), "SCALE": "monthly", "STATISTIC": "sum",
        "OUTPUT": "TEMPORARY_OUTPUT"})
    added = [project.mapLayer(layer_id) for layer_id in set(project.mapLayers()) - before]
    try:
        assert [layer.name() for layer in added] == ["Aggregate time stack: Aggregated stack"]
    finally:
        project.removeMapLayers([layer.id() for layer in added])


def test_required_metadata_is_checked_before_any_work(soilp_provider):
    """An optional-for-QGIS parameter flagged soilp_required, left empty: one line naming it."""
    from soilp.processing_algs.base import REQUIRED_KEY, layer_problem

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("soilp:aggregatetime")
    definition = algorithm.parameterDefinition("INPUT")
    definition.setMetadata({**definition.metadata(), REQUIRED_KEY: True})
    context = QgsProcessingContext()
    assert layer_problem(algorithm, {"INPUT": ""}, context) == \
        "INPUT (Time stack) is required"
    assert layer_problem(algorithm, {"INPUT": "/some/stack.tif"}, context) is None
