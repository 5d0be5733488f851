"""Install or update engine (soilp:installengine): makes the engine environment from inside QGIS,
checks it and stores it as the provider's Engine Python setting; each failure names its step.

``test_install_into_a_new_folder_then_check_engine_passes`` installs the whole pinned requirement
set with pip (from the local wheel cache/index pip is configured with, as CI fills it): it takes
SEVERAL MINUTES (about 7 on a busy 2-core machine). It stays in the suite on purpose.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsSettings

from conftest import ROOT

SETTING_KEY = "Processing/Configuration/SOILP_PYTHON"


@pytest.fixture
def engine_setting_restored():
    """The test may store a new Engine Python; put the old one back afterwards."""
    from processing.core.ProcessingConfig import ProcessingConfig

    before = ProcessingConfig.getSetting("SOILP_PYTHON")
    stored_before = QgsSettings().value(SETTING_KEY)
    yield
    ProcessingConfig.setSettingValue("SOILP_PYTHON", before or "")
    if stored_before is None:
        QgsSettings().remove(SETTING_KEY)
    else:
        QgsSettings().setValue(SETTING_KEY, stored_before)


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain ``text`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(cmdline)
    return found


def test_install_into_a_new_folder_then_check_engine_passes(soilp_provider, tmp_path,
                                                            engine_setting_restored):
    """SLOW (minutes): the real pip install of soilp_qgis/requirements.txt."""
    import processing
    from processing.core.ProcessingConfig import ProcessingConfig

    folder = tmp_path / "engine env"
    progress = []
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(progress.append)
    result = processing.run("soilp:installengine", {"FOLDER": str(folder)}, feedback=feedback)
    python = str(folder / "bin" / "python")
    assert result["PYTHON"] == python
    assert ProcessingConfig.getSetting("SOILP_PYTHON") == python
    assert QgsSettings().value(SETTING_KEY) == python
    assert max(progress) == 100 and len(progress) > 10
    # the environment holds exactly the pinned versions (pip's own view of it)
    frozen = set(subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True,
                                check=True).stdout.lower().split())
    pinned = (ROOT / "soilp_qgis" / "requirements.txt").read_text().lower().split()
    assert [line for line in pinned if line not in frozen] == []
    checked = processing.run("soilp:checkengine", {"PYTHON": python})
    assert checked["PYTHON"] == python
    # a second run updates the environment in place (nothing to install, still checked)
    again = processing.run("soilp:installengine", {"FOLDER": str(folder)})
    assert again["VERSIONS"] == checked["VERSIONS"]


def test_python_without_venv_is_refused_at_step_one(soilp_provider, tmp_path):
    import processing

    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'ensurepip'\" >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:installengine", {"FOLDER": str(tmp_path / "env"),
                                               "PYTHON": str(fake)})
    message = str(raised.value)
    assert message.startswith(f"Step 1/4 (find Python): PYTHON '{fake}' cannot make")
    assert "python3-venv" in message
    assert not (tmp_path / "env").exists()


def test_folder_that_is_not_an_environment_is_refused_at_step_two(soilp_provider, tmp_path):
    import processing

    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("keep me")
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:installengine", {"FOLDER": str(folder)})
    assert str(raised.value).startswith(f"Step 2/4 (create the environment): FOLDER '{folder}' "
                                        "exists and is not a Python environment")
    assert [p.name for p in folder.iterdir()] == ["thesis.txt"]


class CancelOnFirstPipLine(QgsProcessingFeedback):
    """Cancels as soon as pip reports resolving its first requirement."""

    def pushConsoleInfo(self, info):  # noqa: N802 - QGIS's name
        if info.startswith(("Collecting ", "Requirement already satisfied", "Looking in")):
            self.cancel()


def test_cancel_stops_pip_and_its_children(soilp_provider, tmp_path):
    import processing

    folder = tmp_path / "cancelled env"
    venv.EnvBuilder(with_pip=True).create(folder)  # steps 1-2 done: the cancel lands in pip
    feedback = CancelOnFirstPipLine()
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:installengine", {"FOLDER": str(folder)}, feedback=feedback)
    assert "cancelled by the user; pip was stopped" in str(raised.value)
    assert processes_mentioning(str(folder)) == []
    assert os.path.isfile(folder / "bin" / "python")
