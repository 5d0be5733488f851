"""Headless: qgis_process with a throwaway profile, the checkout and the packaged zip."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import ROOT, json_results, run_qgis_process


def enable_and_run(profile, plugins, engine_python):
    enabled = run_qgis_process(["plugins", "enable", "soilp"], profile, plugins)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    listing = run_qgis_process(["list"], profile, plugins)
    assert "Soil moisture–precipitation dependence" in listing.stdout
    assert "soilp:checkengine" in listing.stdout
    run = run_qgis_process(["--json", "run", "soilp:checkengine"], profile, plugins,
                           {"SOILP_PYTHON": engine_python})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json_results(run)["results"]


def test_checkengine_headless_from_the_checkout(tmp_path, plugin_parent, engine_python):
    results = enable_and_run(tmp_path / "profile", plugin_parent, engine_python)
    versions = subprocess.run(
        [engine_python, "-c", "import numpy, rasterio; print(numpy.__version__, rasterio.__version__)"],
        capture_output=True, text=True, check=True).stdout.split()
    assert f"numpy {versions[0]}" in results["VERSIONS"]
    assert f"rasterio {versions[1]}" in results["VERSIONS"]
    assert results["PYTHON"] == engine_python


def test_package_zip_installs_into_a_fresh_profile_and_runs(tmp_path, engine_python):
    zip_path = tmp_path / "soilp.zip"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--output",
                    str(zip_path)], check=True, capture_output=True)
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert {name.split("/")[0] for name in names} == {"soilp"}
        for required in ("soilp/metadata.txt", "soilp/__init__.py", "soilp/requirements.txt",
                         "soilp/processing_algs/base.py", "soilp/soilp_qgis/cli.py",
                         "soilp/resources/icons/soilp.svg", "soilp/LICENSE"):
            assert required in names
        assert not [n for n in names if "/tests/" in n or "__pycache__" in n or "/.venv" in n]
        plugins = tmp_path / "plugins"
        archive.extractall(plugins)
    results = enable_and_run(tmp_path / "profile", plugins, engine_python)
    packaged_version = (plugins / "soilp" / "metadata.txt").read_text().split("version=")[1]
    assert results["ENGINE_VERSION"] == packaged_version.split()[0]
