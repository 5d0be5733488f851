"""The engine CLI and its line protocol, as the plugin reads them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from importlib import metadata

import pytest

from soilp_qgis import __version__, cli
from soilp_qgis.protocol import PREFIX, Reporter


def run_engine(*args: str) -> tuple[int, list[dict], str]:
    completed = subprocess.run([sys.executable, "-m", "soilp_qgis", *args],
                               capture_output=True, text=True, timeout=120)
    messages = [json.loads(line[len(PREFIX):]) for line in completed.stdout.splitlines()
                if line.startswith(PREFIX)]
    return completed.returncode, messages, completed.stderr


def test_check_reports_versions_of_the_installed_libraries():
    code, messages, _ = run_engine("check")
    assert code == 0
    result = messages[-1]["result"]
    assert result["ENGINE_VERSION"] == __version__
    # independent expectation: what the package metadata of this interpreter says
    for name in ("numpy", "xarray", "rasterio", "pyvinecopulib", "scikit-learn", "pymc",
                 "geopandas"):
        assert result["VERSIONS"][name] == metadata.version(name)
    assert {"progress": 100.0} in messages


def test_unknown_step_fails_with_one_line_reason_and_exit_code_1():
    code, messages, stderr = run_engine("no_such_step")
    assert code == 1
    assert messages == [{"error": "unknown engine step 'no_such_step'; known steps: "
                                  + ", ".join(sorted(cli.STEPS))}]
    assert "Traceback" not in stderr  # a user error is not a crash


def test_unexpected_exception_gives_type_and_message_and_traceback_on_stderr(monkeypatch, capsys):
    def broken(params, report):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setitem(cli.STEPS, "broken", "tests_broken:step")
    monkeypatch.setattr(cli, "load_step", lambda name: broken)
    assert cli.main(["broken"]) == 1
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == PREFIX + json.dumps(
        {"error": "ZeroDivisionError: division by zero second line"})
    assert "Traceback" in err


def test_parameters_from_pairs_and_file(tmp_path):
    params_file = tmp_path / "p.json"
    params_file.write_text(json.dumps({"max_lag": 6, "season": "JJA"}))
    params = cli.parse_params(["MAX_LAG=12", "deseasonalize=true", "name=ET (mm)",
                               "weights=[1, 2]"], str(params_file))
    assert params == {"max_lag": 12, "season": "JJA", "deseasonalize": True,
                      "name": "ET (mm)", "weights": [1, 2]}
    with pytest.raises(Exception, match="key=value"):
        cli.parse_params(["novalue"], None)


def test_reporter_maps_sub_ranges_onto_one_scale_and_never_goes_back():
    stream = io.StringIO()
    report = Reporter(stream, min_interval=0.0)
    report.progress(0.5)                      # 50 %
    inner = report.sub(0.5, 1.0).sub(0.5, 1.0)  # 75 %–100 %
    inner.progress(0.0)                       # 75 %
    inner.progress(0.5)                       # 87.5 %
    report.progress(0.6)                      # 60 %: behind, not written
    inner.info("done")
    lines = [json.loads(line[len(PREFIX):]) for line in stream.getvalue().splitlines()]
    assert lines == [{"progress": 50.0}, {"progress": 75.0}, {"progress": 87.5},
                     {"info": "done"}]


def test_a_missing_library_is_one_line_with_an_install_hint(monkeypatch, capsys):
    def missing(name):
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")

    monkeypatch.setattr(cli.importlib, "import_module", missing)
    assert cli.main(["lagged_dependence"]) == 1
    out, err = capsys.readouterr()
    error = json.loads(out.strip().splitlines()[-1][len(PREFIX):])["error"]
    assert error.startswith(f"the engine's environment ({sys.executable}) lacks the library "
                            "'numpy': reinstall it with pip install -r requirements.txt")
    assert "Traceback" not in err
