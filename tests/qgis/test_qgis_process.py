"""Headless: qgis_process with a throwaway profile, the checkout and the packaged zip."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import zipfile

from conftest import ROOT, json_results, qgis_process_command, run_qgis_process


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
        [engine_python, "-c",
         "import numpy, rasterio; print(numpy.__version__, rasterio.__version__)"],
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


def load_sleepy_engine():
    """tests/engine/sleepy_engine.py, a stand-in engine whose steps run for minutes."""
    spec = importlib.util.spec_from_file_location(
        "sleepy_engine", ROOT / "tests" / "engine" / "sleepy_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_sleepy_checkengine(tmp_path, plugins, engine_python, **popen):
    """``qgis_process run soilp:checkengine`` on the sleepy stand-in engine; returns the module,
    the running qgis_process and the pids of the engine and its two workers once they run."""
    sleepy = load_sleepy_engine()
    python = sleepy.write_sleepy_engine(tmp_path / "engine", engine_python)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugins).returncode == 0
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(profile), QGIS_PLUGINPATH=str(plugins),
               QT_QPA_PLATFORM="offscreen", SOILP_PYTHON=python, SLEEPY_PID_DIR=str(pid_dir))
    run = subprocess.Popen([qgis_process_command(), "run", "soilp:checkengine"], env=env, **popen)
    try:
        return sleepy, run, sleepy.engine_processes(pid_dir)
    except BaseException:
        run.kill()
        raise


def test_ctrl_c_stops_a_quiet_run_and_its_engine(tmp_path, plugin_parent, engine_python):
    """Ctrl+C (SIGINT to qgis_process's process group, as a terminal sends it) during a step that
    reports no progress for minutes: qgis_process exits in seconds, not when the step ends (the
    runner's progress heartbeat lets it see the signal; measured 1.9–2.3 s on a busy machine, the
    bound leaves room for a loaded CI), and no engine process remains."""
    sleepy, run, pids = start_sleepy_checkengine(
        tmp_path, plugin_parent, engine_python, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        time.sleep(3.0)  # well into the quiet part
        interrupted = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=60)
        stopped_after = time.monotonic() - interrupted
        assert run.returncode != 0
        assert "cancelled by the user" in output
        assert stopped_after < 15.0, f"qgis_process took {stopped_after:.1f} s to stop"
        assert sleepy.survivors(pids, within=10.0) == []
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_killed_qgis_process_takes_its_engine_along(tmp_path, plugin_parent, engine_python):
    """SIGTERM to qgis_process (a closed terminal, a killed job) during a run: within 10 s no
    engine process or worker remains."""
    sleepy, run, pids = start_sleepy_checkengine(
        tmp_path, plugin_parent, engine_python, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        run.send_signal(signal.SIGTERM)
        run.wait(30)
        assert sleepy.survivors(pids, within=10.0) == []
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def daily_precipitation(folder):
    """Two months of daily precipitation on 2 × 2 cells (a third of the days dry) and, from the
    values themselves, the wet-day count per month (threshold 1 mm)."""
    import numpy as np
    from conftest import daily_dates, write_daily_stack_with_gdal

    rng = np.random.default_rng(3)
    dates = daily_dates("2001-01-01", 59)  # January and February 2001
    values = rng.gamma(0.8, 3.0, size=(59, 2, 2)) * (rng.random((59, 2, 2)) > 0.33)
    expected = np.stack([(values[:31] >= 1.0).sum(axis=0), (values[31:] >= 1.0).sum(axis=0)])
    return write_daily_stack_with_gdal(folder / "daily.tif", values, dates), expected


def test_headless_option_names_aggregate(tmp_path, plugin_parent, engine_python):
    """Options named as the help names them (SCALE=monthly, STATISTIC=wet_day_count)."""
    import numpy as np
    from conftest import read_with_gdal

    stack, expected = daily_precipitation(tmp_path)
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    output = tmp_path / "wet_days.tif"
    run = run_qgis_process(["--json", "run", "soilp:aggregatetime", "--", f"INPUT={stack}",
                            "SCALE=monthly", "STATISTIC=wet_day_count", "WET_DAY_THRESHOLD=1",
                            f"OUTPUT={output}"], profile, plugin_parent,
                           {"SOILP_PYTHON": engine_python})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert json_results(run)["results"]["OUTPUT"] == str(output)
    for month in range(2):
        np.testing.assert_array_equal(read_with_gdal(output, month + 1), expected[month])
    refused = run_qgis_process(["run", "soilp:aggregatetime", "--", f"INPUT={stack}",
                                "SCALE=fortnightly", f"OUTPUT={tmp_path / 'x.tif'}"],
                               profile, plugin_parent, {"SOILP_PYTHON": engine_python})
    assert refused.returncode != 0 and "SCALE" in refused.stdout + refused.stderr
    assert not (tmp_path / "x.tif").exists()


def test_headless_copula_with_named_options_and_only_the_primary_output(tmp_path, plugin_parent,
                                                                          engine_python):
    """Only OUTPUT_TAU given (the secondary outputs are optional and not written), options by
    name; τ matches the planted Gaussian copulas (τ = 2/π · asin ρ)."""
    import numpy as np
    from conftest import monthly_dates, read_with_gdal, write_stack_with_gdal

    rho = np.array([[0.8, -0.6]])
    rng = np.random.default_rng(5)
    dates = monthly_dates(2000, 20)
    precipitation = np.empty((len(dates), 1, 2))
    soil_moisture = np.empty((len(dates), 1, 2))
    for (row, col), value in np.ndenumerate(rho):
        z = rng.multivariate_normal([0, 0], [[1, value], [value, 1]], size=len(dates))
        precipitation[:, row, col] = np.exp(1.0 + 0.8 * z[:, 0])
        soil_moisture[:, row, col] = 0.25 + 0.04 * z[:, 1]
    folder = tmp_path / "run"
    folder.mkdir()
    p = write_stack_with_gdal(tmp_path / "p.tif", precipitation, dates)
    sm = write_stack_with_gdal(tmp_path / "sm.tif", soil_moisture, dates)
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    run = run_qgis_process(["--json", "run", "soilp:copuladependence", "--", f"PRECIPITATION={p}",
                            f"SOIL_MOISTURE={sm}", "MARGINS=empirical",
                            "FAMILY_SET=one_parameter", "CRITERION=bic", "PROCESSES=1",
                            f"OUTPUT_TAU={folder / 'tau.tif'}"], profile, plugin_parent,
                           {"SOILP_PYTHON": engine_python})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    tau = read_with_gdal(folder / "tau.tif")
    np.testing.assert_allclose(tau, 2 / np.pi * np.arcsin(rho), atol=0.12)
    assert sorted(path.name for path in folder.glob("*.tif")) == ["tau.tif"]
    assert not list(folder.glob("*.csv"))


def test_headless_bayesian_drivers_of_two_layers_in_one_run(tmp_path, plugin_parent,
                                                           engine_python):
    """SOIL_MOISTURE_LAYERS given once per layer, as the help says: each layer's files named by
    its position and scale, each table showing that layer's planted driver (the top layer's SM
    falls with Ta, the deep layer's rises with LST)."""
    import csv

    import numpy as np
    from conftest import monthly_dates, write_stack_with_gdal
    from osgeo import gdal

    rng = np.random.default_rng(11)
    dates = monthly_dates(2000, 10)
    shape = (len(dates), 2, 3)
    ta, gpp, lst = (rng.normal(size=shape) for _ in range(3))
    stacks = {"p": 0.8 * ta + 0.5 * rng.normal(size=shape),
              "top": -0.8 * ta + 0.5 * rng.normal(size=shape),
              "deep": 0.8 * lst + 0.5 * rng.normal(size=shape), "ta": ta, "gpp": gpp, "lst": lst}
    paths = {name: write_stack_with_gdal(tmp_path / f"{name}.tif", values, dates)
             for name, values in stacks.items()}
    codes = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "eco.tif"), 3, 2, 1,
                                                 gdal.GDT_Byte)
    codes.SetGeoTransform((0.0, 1.0, 0.0, 10.0, 0.0, -1.0))
    codes.SetProjection(gdal.Open(str(paths["p"])).GetProjection())
    codes.GetRasterBand(1).WriteArray(np.array([[4, 4, 13], [4, 13, 13]], dtype=np.uint8))
    codes = None
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    out = tmp_path / "drivers"
    run = run_qgis_process(["--json", "run", "soilp:bayesiandriverslayers", "--",
                            f"PRECIPITATION={paths['p']}",
                            f"SOIL_MOISTURE_LAYERS={paths['top']}",
                            f"SOIL_MOISTURE_LAYERS={paths['deep']}",
                            f"AIR_TEMPERATURE={paths['ta']}",
                            f"GPP={paths['gpp']}", f"LST={paths['lst']}",
                            f"ECOREGIONS_RASTER={tmp_path / 'eco.tif'}", "DATA=ecoregion_mean",
                            "CHAINS=2", "TUNE=200", "DRAWS=200", f"OUTPUT_FOLDER={out}"],
                           profile, plugin_parent, {"SOILP_PYTHON": engine_python})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert json_results(run)["results"]["ECOREGIONS_FITTED"] == 4
    assert sorted(p.name for p in out.glob("layer*")) == sorted(
        f"layer{n}_monthly_{name}" for n in (1, 2)
        for name in ("table.csv", "ecoregions.gpkg", "figure.png", "report.html"))
    for number, term in ((1, "Ta"), (2, "LST")):
        with open(out / f"layer{number}_monthly_table.csv", newline="") as handle:
            effect = {(r["ecoregion"], r["term"]): float(r["mean"]) for r in csv.DictReader(handle)
                      if r["parameter"] == "coefficient" and r["response"] == "SM"}
        for ecoregion in ("4", "13"):
            assert abs(effect[(ecoregion, term)]) > 0.5, (number, ecoregion)
            assert (effect[(ecoregion, term)] < 0) == (term == "Ta"), (number, ecoregion)
