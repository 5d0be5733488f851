"""The provider as the toolbox and processing.run see it."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsProcessingException

from conftest import ROOT


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
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'numpy'\" >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SOILP_PYTHON", str(fake))
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:checkengine", {})
    message = str(raised.value)
    assert "lacks the library 'numpy'" in message
    assert "soilp:installengine" in message and "\n" not in message
