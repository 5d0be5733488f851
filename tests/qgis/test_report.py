"""soilp:report through Processing on an output folder made by the engine's CLI steps on a small
synthetic world: the page names its sections, states the negative-dependence share the τ raster
gives (read here with QGIS's GDAL), announces what is missing; its figures are PNGs beside it."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import read_with_gdal
from qgis.core import QgsProcessingException

SECTION_HEADINGS = ["Dependence of soil moisture on precipitation (copula)", "Negative dependence",
                    "Optimal lag", "What controls soil moisture (ridge regression)",
                    "Drivers of the dependence per ecoregion (Bayesian)", "Provenance"]


def engine_step(python: str, step: str, **params) -> dict:
    """Run ``python -m soilp_qgis <step> key=value …``; its result line."""
    args = [f"{key}={value if isinstance(value, str) else json.dumps(value)}"
            for key, value in params.items()]
    completed = subprocess.run([python, "-m", "soilp_qgis", step, *args], capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    line = [printed for printed in completed.stdout.splitlines()
            if printed.startswith('@soilp {"result"')][-1]
    return json.loads(line[len("@soilp "):])["result"]


@pytest.fixture(scope="module")
def output_folder(tmp_path_factory, engine_python):
    """Monthly copula maps and table of layer 1 and its optimal lag, from the engine's CLI."""
    base = tmp_path_factory.mktemp("report")
    world, out = base / "world", base / "out"
    engine_step(engine_python, "synthetic_world", output_folder=str(world),
                extent=[-30, 20, 30, 60], resolution=4, start_year=2000, end_year=2004, seed=1)
    volume = str(out / "inputs" / "precipitation_volume_monthly.tif")
    engine_step(engine_python, "aggregate_time", input=str(world / "precipitation_daily.tif"),
                scale="monthly", statistic="sum", output=volume, processes=1)
    prefix = out / "copula" / "layer1_monthly"   # the full analysis's layout
    engine_step(engine_python, "copula_dependence", precipitation=volume,
                soil_moisture=str(world / "soil_moisture_0_7cm.tif"), family_set="one_parameter",
                processes=1, ecoregions_raster=str(world / "ecoregions.tif"),
                output_tau=f"{prefix}_tau.tif", output_lower_tail=f"{prefix}_lower_tail.tif",
                output_upper_tail=f"{prefix}_upper_tail.tif", output_table=f"{prefix}_table.csv")
    engine_step(engine_python, "lagged_dependence", precipitation=volume,
                soil_moisture=str(world / "soil_moisture_28_100cm.tif"), max_lag=6, processes=1,
                output_optimal_lag=str(out / "lag" / "layer3_optimal_lag.tif"))
    return world, out


def test_report_names_its_sections_and_states_the_rasters_numbers(soilp_provider, output_folder):
    import processing

    world, out = output_folder
    target = out / "report.html"
    result = processing.run("soilp:report", {
        "INPUT_FOLDER": str(out), "TITLE": "Small world <test>",
        "ECOREGIONS": str(world / "ecoregion_polygons.gpkg"), "OUTPUT_HTML": str(target)})
    assert result["OUTPUT_HTML"] == str(target)
    page = target.read_text(encoding="utf-8")
    assert "<h1>Small world &lt;test&gt;</h1>" in page
    for heading in SECTION_HEADINGS:
        assert f"<h2>{html.escape(heading)}</h2>" in page

    tau = read_with_gdal(out / "copula" / "layer1_monthly_tau.tif")
    finite = np.isfinite(tau)
    span = re.search(r'id="negative-share-layer1-monthly"[^>]*>([^<]+)<', page).group(1)
    percent, cells = re.fullmatch(r"(\d+\.\d) % of ([\d,]+) cells", span).groups()
    assert int(cells.replace(",", "")) == int(finite.sum())
    assert abs(float(percent) - 100 * (tau[finite] < 0).mean()) <= 0.05 + 1e-9
    assert "Layer 2 (7–28 cm), monthly" not in page  # only what is there is tabulated

    assert "No ridge-control results in this folder" in page
    assert "No Bayesian driver results in this folder" in page
    assert "No provenance.json in this folder" in page
    assert "No optimal-lag map for Layer 1 (0–7 cm), Layer 2 (7–28 cm)." in page
    assert "Outline: ecoregion_polygons.gpkg." in page
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert {"report_dependence_monthly.png", "report_negative_share.png",
            "report_optimal_lag.png"} <= set(sources)
    for source in sources:
        assert (target.parent / source).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_of_a_folder_that_is_not_there_fails_in_one_line(soilp_provider, tmp_path):
    import processing

    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:report", {"INPUT_FOLDER": str(tmp_path / "absent"),
                                        "OUTPUT_HTML": str(tmp_path / "report.html")})
    assert "absent" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert not Path(tmp_path / "report.html").exists()
