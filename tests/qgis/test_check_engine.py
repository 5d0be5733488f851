"""Check engine refuses an incomplete engine, naming what is missing or too old; every algorithm
that meets a broken engine says the same in one line (issue 13)."""

from __future__ import annotations

import json
import re
import subprocess
import venv
from pathlib import Path

import pytest
from conftest import ROOT
from qgis.core import QgsApplication, QgsProcessingException


def bare_python(folder: Path) -> str:
    """A fresh ``python -m venv`` interpreter: none of the engine's libraries."""
    venv.EnvBuilder(with_pip=False).create(folder)
    return str(folder / "bin" / "python")


def site_packages(python: str) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    return Path(out)


def plant_distribution(python: str, name: str, version: str) -> None:
    """Installed-package metadata for ``name`` at ``version`` (what pip leaves behind)."""
    folder_name = re.sub(r"[-_.]+", "_", name)  # as pip names it (wheel spec)
    info = site_packages(python) / f"{folder_name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def pyproject_minimums() -> dict[str, str]:
    """The engine's declared minimums, read with a TOML parser (independent of the engine's)."""
    import tomllib

    data = tomllib.loads((ROOT / "soilp_qgis" / "pyproject.toml").read_text(encoding="utf-8"))
    minimums = {}
    for requirement in data["project"]["dependencies"]:
        name, _, minimum = requirement.partition(">=")
        minimums[name.split("[")[0].strip()] = minimum.strip()
    return minimums


def test_checkengine_opens_a_dialog(soilp_provider):
    """A visible parameter: double-click opens the dialog (QGIS 3.22 ran parameterless
    algorithms under a message-bar progress whose int slot refuses float progress)."""
    algorithm = QgsApplication.processingRegistry().algorithmById("soilp:checkengine")
    assert algorithm.countVisibleParameters() >= 1


def test_bare_interpreter_is_refused_naming_every_missing_library(soilp_provider, tmp_path):
    import processing

    python = bare_python(tmp_path / "bare")
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:checkengine", {"PYTHON": python})
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    assert python in message
    for name in pyproject_minimums():
        assert name in message, name
    assert "soilp:installengine" in message


def test_too_old_library_is_named_with_its_minimum(soilp_provider, tmp_path, engine_python):
    """Every library present at the minimum except numpy, planted one release too old."""
    import processing

    python = bare_python(tmp_path / "old")
    minimums = pyproject_minimums()
    for name, minimum in minimums.items():
        plant_distribution(python, name, "1.0" if name == "numpy" else minimum)
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:checkengine", {"PYTHON": python})
    message = str(raised.value)
    assert f"numpy 1.0 (needs ≥ {minimums['numpy']})" in message
    assert "missing" not in message
    assert [name for name in minimums if f"{name} " in message.split("too old:")[1]] == ["numpy"]


def test_complete_engine_passes_and_reports_versions_as_outputs(soilp_provider, engine_python):
    import processing

    result = processing.run("soilp:checkengine", {"PYTHON": engine_python})
    installed = json.loads(subprocess.run(
        [engine_python, "-c", "import json; from importlib import metadata; print(json.dumps("
         "{d.metadata['Name'].lower(): d.version for d in metadata.distributions()}))"],
        capture_output=True, text=True, check=True).stdout)
    for name in pyproject_minimums():
        assert f"{name} {installed[name.lower()]}" in result["VERSIONS"]
    assert result["PYTHON"] == engine_python
    assert result["PYTHON_VERSION"].count(".") == 2


def test_any_algorithm_meeting_a_broken_engine_says_the_same_line(soilp_provider, tmp_path,
                                                                  monkeypatch):
    import processing

    python = bare_python(tmp_path / "bare")
    monkeypatch.setenv("SOILP_PYTHON", python)
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:syntheticworld", {"RESOLUTION": 10.0,
                                                 "OUTPUT_FOLDER": str(tmp_path / "world")})
    message = str(raised.value)
    assert message.startswith(f"The soilp engine '{python}' lacks the library 'numpy'.")
    assert "soilp:installengine" in message
    assert "\n" not in message and "Traceback" not in message


def test_check_runs_without_numpy_and_names_python(tmp_path):
    """The engine's check step itself (standard library only) in a bare interpreter."""
    python = bare_python(tmp_path / "bare")
    completed = subprocess.run([python, "-m", "soilp_qgis", "check"], capture_output=True,
                               text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=120)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    last = json.loads(completed.stdout.strip().splitlines()[-1].split(" ", 1)[1])
    assert last["error"].startswith("the engine environment is incomplete: missing libraries: ")
