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
from conftest import ROOT, json_results, qgis_process_command, run_qgis_process
from qgis.core import QgsProcessingException, QgsProcessingFeedback


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


def test_install_into_a_new_folder_then_check_engine_passes(tmp_path, plugin_parent):
    """SLOW (minutes): the real pip install of soilp_qgis/requirements.txt, headless, in a
    throwaway profile (the Engine Python setting it stores must not reach other tests)."""
    folder = tmp_path / "engine env"
    profile = tmp_path / "profile"
    env = {name: value for name, value in os.environ.items() if name != "SOILP_PYTHON"}
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    installed = run_qgis_process(["--json", "run", "soilp:installengine", "--",
                                  f"FOLDER={folder}"], profile, plugin_parent, timeout=1800)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    python = str(folder / "bin" / "python")
    assert json_results(installed)["results"]["PYTHON"] == python
    # the environment holds exactly the pinned versions (pip's own view of it)
    frozen = set(subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True,
                                check=True).stdout.lower().split())
    pinned = (ROOT / "soilp_qgis" / "requirements.txt").read_text().lower().split()
    assert [line for line in pinned if line not in frozen] == []
    # the setting was stored: Check engine without SOILP_PYTHON and without PYTHON uses it
    checked = subprocess.run(
        [qgis_process_command(), "--json", "run", "soilp:checkengine"], capture_output=True,
        text=True, timeout=600, env=dict(env, QGIS_CUSTOM_CONFIG_PATH=str(profile),
                                         QGIS_PLUGINPATH=str(plugin_parent),
                                         QT_QPA_PLATFORM="offscreen"))
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert json_results(checked)["results"]["PYTHON"] == python
    # a second run updates the environment in place
    again = run_qgis_process(["--json", "run", "soilp:installengine", "--", f"FOLDER={folder}"],
                             profile, plugin_parent, timeout=1800)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "updating the existing environment" in again.stdout


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
