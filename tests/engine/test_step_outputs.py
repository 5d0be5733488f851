"""What a step leaves on disk when things go wrong: an output on an input is refused and the input
stays byte-identical; a full disk half-way, a cancel (SIGTERM) or a run that computes nothing
leaves the destination folder exactly as it was; tables always carry their header; GDAL writes
nothing beside the inputs; progress moves within a block."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from soilp_qgis import blocks
from soilp_qgis.blocks import BlockExecutor, BlockInput, OutputSpec, compute_block
from soilp_qgis.errors import InputError, SoilpError
from soilp_qgis.protocol import PREFIX, Reporter, SilentReporter
from soilp_qgis.steps import outputs as step_outputs
from soilp_qgis.steps.common import write_csv
from soilp_qgis.steps.copula_dependence import copula_dependence
from soilp_qgis.steps.lagged_dependence import lagged_dependence
from soilp_qgis.steps.staging import STAGING_PREFIX
from soilp_qgis.timestack import Grid, read_stack_info, write_stack

GRID = Grid.regular(10.0, 50.0, 1.0, 4, 3)
DATES = np.arange("2001-01", "2011-01", dtype="datetime64[M]").astype("datetime64[D]")


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with its SHA-256."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture()
def inputs(tmp_path):
    rng = np.random.default_rng(2)
    precipitation = rng.gamma(2.0, 30.0, size=(len(DATES), 3, 4))
    soil_moisture = 0.2 + 0.001 * precipitation + 0.02 * rng.normal(size=precipitation.shape)
    folder = tmp_path / "inputs"
    write_stack(folder / "p.tif", precipitation, GRID, DATES, "monthly", "mm")
    write_stack(folder / "sm.tif", soil_moisture, GRID, DATES, "monthly", "m3 m-3")
    return {"precipitation": str(folder / "p.tif"), "soil_moisture": str(folder / "sm.tif")}


def lag_outputs(folder: Path) -> dict[str, str]:
    return {f"output_{name}": str(folder / f"{name}.tif")
            for name in ("tau_by_lag", "optimal_lag", "tau_at_optimal_lag", "status")}


# ---- output on an input, two outputs on one path ------------------------------------------------

def test_an_output_on_an_input_is_refused_and_the_input_stays_byte_identical(inputs):
    before = hashlib.sha256(Path(inputs["soil_moisture"]).read_bytes()).hexdigest()
    with pytest.raises(InputError) as raised:
        lagged_dependence({**inputs, "max_lag": 3, "output_tau_by_lag": inputs["soil_moisture"]},
                          SilentReporter())
    assert str(raised.value) == (f"OUTPUT_TAU_BY_LAG would overwrite the input SOIL_MOISTURE "
                                 f"({inputs['soil_moisture']}): choose another output path")
    assert hashlib.sha256(Path(inputs["soil_moisture"]).read_bytes()).hexdigest() == before
    assert sorted(os.listdir(Path(inputs["soil_moisture"]).parent)) == ["p.qml", "p.tif",
                                                                        "sm.qml", "sm.tif"]


def test_the_same_file_by_another_path_is_refused(inputs, tmp_path):
    link = tmp_path / "elsewhere"
    link.symlink_to(Path(inputs["precipitation"]).parent, target_is_directory=True)
    with pytest.raises(InputError, match="OUTPUT_STATUS would overwrite the input PRECIPITATION"):
        lagged_dependence({**inputs, "output_status": str(link / ".." / "inputs" / "p.tif")},
                          SilentReporter())


def test_two_outputs_on_one_path_are_refused(inputs, tmp_path):
    same = str(tmp_path / "out" / "tau.tif")
    with pytest.raises(InputError) as raised:
        copula_dependence({**inputs, "output_tau": same, "output_lower_tail": same},
                          SilentReporter())
    assert str(raised.value) == (f"OUTPUT_LOWER_TAIL and OUTPUT_TAU are the same file ({same}): "
                                 f"give each output its own path")
    assert not (tmp_path / "out").exists()


def test_a_netcdf_variable_input_is_its_file(tmp_path):
    from soilp_qgis.steps.aggregate_time import aggregate_time

    netcdf = tmp_path / "rr.nc"
    netcdf.write_bytes(b"not read: the paths are checked first")
    with pytest.raises(InputError, match=r"^OUTPUT would overwrite the input INPUT \(.*rr.nc:rr\)"):
        aggregate_time({"input": f"{netcdf}:rr", "output": str(netcdf)}, SilentReporter())
    assert netcdf.read_bytes() == b"not read: the paths are checked first"


def test_the_cli_refuses_output_on_input_in_one_line(inputs):
    completed = subprocess.run(
        [sys.executable, "-m", "soilp_qgis", "aggregate_time", f"input={inputs['precipitation']}",
         "scale=annual", "statistic=sum", f"output={inputs['precipitation']}"],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    lines = [json.loads(line[len(PREFIX):]) for line in completed.stdout.splitlines()]
    assert lines == [{"error": f"OUTPUT would overwrite the input INPUT "
                               f"({inputs['precipitation']}): choose another output path"}]
    assert "Traceback" not in completed.stderr


# ---- a full disk half-way ----------------------------------------------------------------------

def test_a_full_disk_half_way_leaves_the_folder_as_it_was(inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    lagged_dependence({**inputs, "max_lag": 3, "min_observations": 5, **lag_outputs(out)},
                      SilentReporter())  # an earlier run
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    assert "status.qml" in before and "provenance/tau_by_lag.tif.json" in before

    real_write = step_outputs.write_raster
    calls = []

    def disk_fills_up(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(step_outputs, "write_raster", disk_fills_up)
    with pytest.raises(SoilpError) as raised:
        lagged_dependence({**inputs, "max_lag": 2, "min_observations": 5, **lag_outputs(out)},
                          SilentReporter())
    assert str(raised.value) == (f"{out / 'tau_at_optimal_lag.tif'}: cannot write "
                                 f"({os.strerror(errno.ENOSPC)})")
    assert snapshot(out) == before  # nothing new, nothing half-written, the earlier run intact
    assert not [p for p in out.rglob("*") if STAGING_PREFIX in str(p) or p.name.endswith(".part")]


def test_the_cli_turns_a_full_disk_into_one_line_without_traceback(monkeypatch, capsys):
    from soilp_qgis import cli

    def full(params, report):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/out/tau.tif")

    monkeypatch.setattr(cli, "load_step", lambda name: full)
    assert cli.main(["lagged_dependence"]) == 1
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == PREFIX + json.dumps(
        {"error": f"/data/out/tau.tif: {os.strerror(errno.ENOSPC)}"})
    assert "Traceback" not in err


def test_a_read_only_destination_is_one_line(inputs, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(SoilpError, match=f"^{out}: cannot write into the output folder"):
            lagged_dependence({**inputs, "output_status": str(out / "status.tif")},
                              SilentReporter())
    finally:
        out.chmod(0o755)


# ---- runs that compute nothing -----------------------------------------------------------------

def test_all_nodata_input_fails_counted_by_status(tmp_path):
    empty = np.full((len(DATES), 3, 4), np.nan)
    write_stack(tmp_path / "p.tif", empty, GRID, DATES, "monthly", "mm")
    write_stack(tmp_path / "sm.tif", empty, GRID, DATES, "monthly", "")
    with pytest.raises(SoilpError) as raised:
        copula_dependence({"precipitation": str(tmp_path / "p.tif"),
                           "soil_moisture": str(tmp_path / "sm.tif"), "processes": 1,
                           "output_tau": str(tmp_path / "out" / "tau.tif")}, SilentReporter())
    assert str(raised.value) == ("no cell could be computed: 12 no data, 0 too few values, "
                                 "0 constant series, 0 too many ties, 0 fit failed")
    assert not (tmp_path / "out").exists()


def test_constant_input_fails_counted_by_status(tmp_path):
    rng = np.random.default_rng(0)
    write_stack(tmp_path / "p.tif", rng.random((len(DATES), 3, 4)), GRID, DATES, "monthly", "mm")
    write_stack(tmp_path / "sm.tif", np.full((len(DATES), 3, 4), 0.3), GRID, DATES, "monthly", "")
    with pytest.raises(SoilpError) as raised:
        lagged_dependence({"precipitation": str(tmp_path / "p.tif"),
                           "soil_moisture": str(tmp_path / "sm.tif"), "max_lag": 2,
                           "processes": 1, "output_status": str(tmp_path / "status.tif")},
                          SilentReporter())
    assert str(raised.value) == ("no cell could be computed: 0 no data, 0 too few values, "
                                 "12 constant series, 0 too many ties, 0 fit failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.qml", "p.tif", "sm.qml", "sm.tif"]


def test_ten_time_steps_fail_before_any_block_is_read(tmp_path, monkeypatch):
    """A series shorter than MIN_OBSERVATIONS: no cell can be computed whatever the data, so the
    run fails with one line naming the counts, before the executor reads a block, and writes
    nothing."""
    rng = np.random.default_rng(0)
    dates = DATES[:10]
    write_stack(tmp_path / "p.tif", rng.random((10, 3, 4)), GRID, dates, "monthly", "mm")
    write_stack(tmp_path / "sm.tif", rng.random((10, 3, 4)), GRID, dates, "monthly", "")
    from soilp_qgis.blocks import BlockExecutor

    def never(*args, **kwargs):
        raise AssertionError("the executor ran")

    monkeypatch.setattr(BlockExecutor, "run", never)
    with pytest.raises(InputError) as raised:
        copula_dependence({"precipitation": str(tmp_path / "p.tif"),
                           "soil_moisture": str(tmp_path / "sm.tif"), "processes": 1,
                           "output_status": str(tmp_path / "status.tif")}, SilentReporter())
    assert str(raised.value) == ("the stacks have 10 time steps of PRECIPITATION, fewer than "
                                 "MIN_OBSERVATIONS 15: no cell can be computed (give a longer "
                                 "series or lower MIN_OBSERVATIONS)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.qml", "p.tif", "sm.qml", "sm.tif"]


def test_ecoregions_off_the_grid_are_a_warning(inputs, tmp_path):
    codes = np.zeros((3, 4), dtype=np.uint8)
    from soilp_qgis.timestack import write_raster

    write_raster(tmp_path / "eco.tif", codes, GRID, "uint8", None)
    stream = io.StringIO()
    copula_dependence({**inputs, "processes": 1, "family_set": "gaussian_t",
                       "ecoregions_raster": str(tmp_path / "eco.tif"),
                       "output_table": str(tmp_path / "table.csv")},
                      Reporter(stream, min_interval=0.0))
    warnings = [json.loads(line[len(PREFIX):])["warning"] for line in stream.getvalue().splitlines()
                if '"warning"' in line]
    assert warnings == [f"no ecoregion of ECOREGIONS_RASTER {tmp_path / 'eco.tif'} overlaps the "
                        f"stacks' grid: the table has only the row 'all'"]
    rows = (tmp_path / "table.csv").read_text().splitlines()
    assert rows[0].startswith("ecoregion,valid_cells,negative_share") and len(rows) == 2


def test_a_table_without_rows_still_has_its_header(tmp_path):
    write_csv(tmp_path / "t.csv", [], columns=["ecoregion", "term"])
    assert (tmp_path / "t.csv").read_bytes() == b"ecoregion,term\r\n"
    with pytest.raises(ValueError):
        write_csv(tmp_path / "u.csv", [])
    assert not (tmp_path / "u.csv").exists()


# ---- cancel ------------------------------------------------------------------------------------

def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_leaves_no_new_file_and_no_process(tmp_path):
    rng = np.random.default_rng(5)
    # 2,500 cells × 240 steps: enough work for two worker processes (copula_dependence runs a
    # grid under WORK_PER_PROCESS cell-steps per worker in its own process)
    grid = Grid.regular(0.0, 50.0, 1.0, 50, 50)
    dates = np.arange("2000-01", "2020-01", dtype="datetime64[M]").astype("datetime64[D]")
    p = rng.gamma(2.0, 30.0, size=(len(dates), 50, 50))
    write_stack(tmp_path / "p.tif", p, grid, dates, "monthly", "mm")
    write_stack(tmp_path / "sm.tif", 0.1 + 0.001 * p + 0.01 * rng.normal(size=p.shape), grid,
                dates, "monthly", "")
    out = tmp_path / "out"
    out.mkdir()
    (out / "tau.tif").write_bytes(b"an earlier run")
    before = snapshot(out)
    engine = subprocess.Popen(
        [sys.executable, "-m", "soilp_qgis", "copula_dependence", f"precipitation={tmp_path}/p.tif",
         f"soil_moisture={tmp_path}/sm.tif", "processes=2", f"output_tau={out}/tau.tif",
         f"output_status={out}/status.tif", f"output_table={out}/table.csv"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    workers: set[int] = set()
    for line in engine.stdout:  # wait until the blocks are being fitted
        workers |= children_of(engine.pid)
        if line.startswith(PREFIX + '{"progress"') and len(workers) >= 2:
            break
    assert engine.poll() is None, "the run ended before it could be cancelled"
    engine.send_signal(signal.SIGTERM)
    remaining, _ = engine.communicate(timeout=30)
    assert engine.returncode == 143
    assert remaining.strip().splitlines()[-1] == PREFIX + json.dumps({"error": "cancelled"})
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)]
    assert snapshot(out) == before


# ---- GDAL leaves the inputs alone --------------------------------------------------------------

def test_the_engine_asks_gdal_for_no_aux_xml_and_writes_nothing_beside_inputs(inputs, tmp_path):
    folder = Path(inputs["precipitation"]).parent
    before = snapshot(folder)
    folder.chmod(0o555)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "soilp_qgis", "lagged_dependence",
             f"precipitation={inputs['precipitation']}",
             f"soil_moisture={inputs['soil_moisture']}", "max_lag=2", "processes=1",
             f"output_status={tmp_path / 'out' / 'status.tif'}"],
            capture_output=True, text=True, timeout=120)
    finally:
        folder.chmod(0o755)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert snapshot(folder) == before
    probe = subprocess.run(
        [sys.executable, "-c", "import soilp_qgis.cli, rasterio;"
         "print(rasterio.env.get_gdal_config('GDAL_PAM_ENABLED'))"],
        capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() in ("NO", "False")


def test_a_text_file_named_tif_is_one_line_naming_it(tmp_path):
    fake = tmp_path / "fake.tif"
    fake.write_text("hello")
    completed = subprocess.run(
        [sys.executable, "-m", "soilp_qgis", "lagged_dependence", f"precipitation={fake}",
         f"soil_moisture={fake}", f"output_status={tmp_path / 'status.tif'}"],
        capture_output=True, text=True, timeout=120)
    error = json.loads(completed.stdout.strip().splitlines()[-1][len(PREFIX):])["error"]
    assert error.startswith(f"PRECIPITATION {fake}: not a readable raster") or \
        error.startswith(f"{fake}: not a readable raster")
    assert "ERROR 1" not in completed.stderr and "Traceback" not in completed.stderr


# ---- progress within a block -------------------------------------------------------------------

def slow_mean(block, delay=0.002):
    time.sleep(delay * len(block["x"]))
    return {"mean": np.nanmean(block["x"], axis=1)}


def test_progress_moves_within_a_block_and_results_do_not_change(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    grid = Grid.regular(0.0, 20.0, 1.0, 20, 20)
    x = rng.random((24, 20, 20))
    write_stack(tmp_path / "x.tif", x, grid, DATES[:24], "monthly", "")
    info = read_stack_info(tmp_path / "x.tif")
    window = blocks.Window(0, 0, 20, 20)
    monkeypatch.setattr(blocks, "SUB_BLOCK_SECONDS", 0.05)
    fractions = []
    _, results = compute_block(slow_mean, {"x": BlockInput(info)}, window,
                               {"mean": OutputSpec()}, progress=fractions.append)
    assert len(fractions) > 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    expected = x.astype(np.float32).reshape(24, -1).mean(axis=0)
    np.testing.assert_allclose(results["mean"][:, 0], expected, rtol=1e-6)

    stream = io.StringIO()
    arrays = BlockExecutor(processes=2, block_cells=400).run(
        partial(slow_mean, delay=0.02), {"x": BlockInput(info)}, {"mean": OutputSpec()},
        Reporter(stream, min_interval=0.0))
    np.testing.assert_allclose(arrays["mean"][0].ravel(), expected, rtol=1e-6)
    percents = [json.loads(line[len(PREFIX):])["progress"] for line in
                stream.getvalue().splitlines()]
    # 8 blocks: progress also between the block boundaries (multiples of 12.5 %)
    assert any(p % 12.5 for p in percents)


def test_bayesian_drivers_with_no_ecoregion_fitted_say_why_and_keep_the_header(tmp_path):
    from soilp_qgis.steps.bayesian_drivers import bayesian_drivers
    from soilp_qgis.timestack import write_raster

    rng = np.random.default_rng(1)
    paths = {}
    for name in ("precipitation", "soil_moisture", "air_temperature", "gpp", "lst"):
        values = rng.normal(size=(len(DATES), 3, 4))
        if name == "lst":
            values[:] = np.nan  # no cell has all five variables
        paths[name] = str(write_stack(tmp_path / f"{name}.tif", values, GRID, DATES, "monthly", ""))
    codes = np.array([[4, 4, 0, 13], [4, 4, 13, 13], [4, 0, 13, 13]])
    paths["ecoregions_raster"] = str(write_raster(tmp_path / "eco.tif", codes, GRID, "uint8", 0))
    stream = io.StringIO()
    result = bayesian_drivers({**paths, "data": "ecoregion_mean", "chains": 1, "tune": 10,
                               "draws": 10, "output_table": str(tmp_path / "out" / "table.csv")},
                              Reporter(stream, min_interval=0.0))
    warnings = [json.loads(line[len(PREFIX):])["warning"] for line in stream.getvalue().splitlines()
                if '"warning"' in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("no ecoregion could be fitted (2 on the grid): 4 Temperate")
    assert result["ECOREGIONS_FITTED"] == 0
    header, *rows = (tmp_path / "out" / "table.csv").read_text().splitlines()
    assert header.startswith("ecoregion,") and "mean" in header.split(",") and rows == []


# ---- provenance of every run -------------------------------------------------------------------

def test_every_run_records_its_provenance_beside_its_outputs(inputs, tmp_path, monkeypatch):
    from soilp_qgis.report import make_report, provenance

    out = tmp_path / "out"
    lagged_dependence({**inputs, "max_lag": 2, "min_observations": 5, "processes": 1,
                       "output_optimal_lag": str(out / "lag.tif"),
                       "output_status": str(out / "status.tif")}, SilentReporter())
    record = json.loads((out / "provenance" / "lag.tif.json").read_text(encoding="utf-8"))
    assert record["step"] == "lagged_dependence"
    assert record["parameters"] == {
        "PRECIPITATION": inputs["precipitation"], "SOIL_MOISTURE": inputs["soil_moisture"],
        "MAX_LAG": 2, "MIN_OBSERVATIONS": 5, "PROCESSES": 1, "ALPHA": 0.05,
        "BOOTSTRAP_REPLICATES": 100, "BLOCK_LENGTH": 0, "SEED": 0, "OUTPUT_TAU_BY_LAG": None,
        "OUTPUT_OPTIMAL_LAG": str(out / "lag.tif"), "OUTPUT_TAU_AT_OPTIMAL_LAG": None,
        "OUTPUT_STATUS": str(out / "status.tif"), "OUTPUT_SIGNIFICANCE": None,
        "OUTPUT_LAG_STABILITY": None}
    for name in ("PRECIPITATION", "SOIL_MOISTURE"):
        path = Path(inputs[name.lower()])
        assert record["inputs"][name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert record["inputs"][name]["time_range"]["steps"] == len(DATES)
    assert record["outputs"] == {"OUTPUT_OPTIMAL_LAG": str(out / "lag.tif"),
                                 "OUTPUT_STATUS": str(out / "status.tif")}
    assert record["libraries"]["numpy"] == np.__version__
    assert record["started"] <= record["finished"]

    monkeypatch.setattr(provenance, "MAX_CHECKSUM_BYTES", 100)  # inputs "too large" to hash
    lagged_dependence({**inputs, "max_lag": 1, "min_observations": 5, "processes": 1,
                       "output_status": str(out / "status_1.tif")}, SilentReporter())
    skipped = json.loads((out / "provenance" / "status_1.tif.json").read_text())["inputs"]
    assert "sha256" not in skipped["PRECIPITATION"]
    assert skipped["PRECIPITATION"]["sha256_skipped"].startswith("larger than")

    result = make_report(out, out / "report.html")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert result.sections["provenance"] == "made"
    assert 'id="provenance-runs"' in page and page.count("<td>lagged_dependence</td>") == 2
    assert record["inputs"]["SOIL_MOISTURE"]["sha256"] in page
