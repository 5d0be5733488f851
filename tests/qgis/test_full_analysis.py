"""The shipped model soilp:fullanalysis: every output on a small synthetic area, and clear
failures before any work when an input is missing or the ecoregion field does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import read_with_gdal, run_qgis_process
from qgis.core import QgsApplication, QgsProcessingException

LAYERS = ("layer1", "layer2", "layer3")
PERIODS = ("monthly", "MAM", "JJA", "SON", "DJF", "annual")


def expected_files() -> list[str]:
    """docs/OUTPUTS.md's names, spelled out."""
    files = [f"inputs/precipitation_{q}_{s}.tif" for q in ("volume", "frequency")
             for s in ("monthly", "seasonal", "annual")]
    files += [f"inputs/soil_moisture_{layer}_annual.tif" for layer in LAYERS]
    files += [f"inputs/{v}_annual.tif" for v in ("evapotranspiration", "air_temperature", "lst",
                                                "gpp")]
    for layer in LAYERS:
        for scale in ("monthly", "annual"):
            files += [f"copula_{layer}_{scale}_{stem}" for stem in (
                "tau.tif", "lower_tail.tif", "upper_tail.tif", "family.tif", "parameters.tif",
                "status.tif", "table.csv")]
        files += [f"lag_{layer}_{stem}.tif" for stem in ("tau_by_lag", "optimal_lag",
                                                          "tau_at_optimal_lag")]
        for period in PERIODS:
            files += [f"ridge_{layer}_{period}_{stem}" for stem in (
                "coefficients.tif", "weights.tif", "rgb.tif", "dominant.tif", "status.tif",
                "table.csv", "legend.png")]
    for scale in ("monthly", "annual"):
        files += [f"bayes_{scale}_{stem}" for stem in ("table.csv", "ecoregions.gpkg",
                                                       "figure.png", "report.html")]
    return files + ["report.html"]


@pytest.fixture(scope="module")
def small_world(soilp_provider, tmp_path_factory):
    import processing

    folder = tmp_path_factory.mktemp("model_world")
    return processing.run("soilp:syntheticworld", {
        "EXTENT": "-24,24,24,60 [EPSG:4326]", "RESOLUTION": 6.0, "START_YEAR": 2000,
        "END_YEAR": 2005, "SEED": 2, "OUTPUT_FOLDER": str(folder)})


def model_inputs(world: dict) -> dict:
    return {"PRECIPITATION": world["PRECIPITATION"],
            "SOIL_MOISTURE_LAYER1": world["SOIL_MOISTURE_0_7CM"],
            "SOIL_MOISTURE_LAYER2": world["SOIL_MOISTURE_7_28CM"],
            "SOIL_MOISTURE_LAYER3": world["SOIL_MOISTURE_28_100CM"],
            "EVAPOTRANSPIRATION": world["EVAPOTRANSPIRATION"],
            "AIR_TEMPERATURE": world["AIR_TEMPERATURE"],
            "LAND_SURFACE_TEMPERATURE": world["LAND_SURFACE_TEMPERATURE"], "GPP": world["GPP"],
            "ECOREGIONS": world["ECOREGIONS"], "FIELD": "BIOME"}


LIGHT = {"FAMILY_SET": 1, "BAYES_CHAINS": 2, "BAYES_TUNE": 100, "BAYES_DRAWS": 100,
         "BAYES_MAX_CELLS": 4}


def test_model_is_registered_and_editable(soilp_provider):
    model = QgsApplication.processingRegistry().algorithmById("soilp:fullanalysis")
    assert model is not None and model.displayName() == "Full dependence analysis"
    children = model.childAlgorithms()
    assert len(children) == 43
    assert all(child.algorithm() is not None for child in children.values())
    copy = model.create()
    assert copy.toVariant() == model.toVariant()   # what the Modeler edits


def test_every_output_from_one_run(small_world, tmp_path):
    import processing

    out = tmp_path / "analysis"
    out.mkdir()
    processing.run("soilp:fullanalysis", {**model_inputs(small_world), **LIGHT,
                                          "OUTPUT_FOLDER": str(out)})
    missing = [name for name in expected_files() if not (out / name).is_file()]
    assert not missing, missing
    # the report's headline number is the share of τ < 0 in the τ raster it names
    tau = read_with_gdal(out / "copula_layer1_monthly_tau.tif")
    share = float((tau[np.isfinite(tau)] < 0).mean())
    page = (out / "report.html").read_text(encoding="utf-8")
    shown = re.search(r'id="negative-share-layer1-monthly"[^>]*data-share="([0-9.eE+-]+)"', page)
    assert shown and float(shown.group(1)) == pytest.approx(share, abs=1e-4)


def test_ecoregion_layer_without_the_field_fails_before_any_step(small_world, tmp_path):
    import processing

    out = tmp_path / "analysis"
    out.mkdir()
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:fullanalysis", {**model_inputs(small_world), **LIGHT,
                                              "FIELD": "ECO_CODE", "OUTPUT_FOLDER": str(out)})
    assert "ECOREGIONS layer" in str(raised.value)
    assert "has no field 'ECO_CODE' (its fields: fid, BIOME, BIOME_NAME)" in str(raised.value)
    assert list(out.iterdir()) == []


def test_headless_missing_input_is_one_clear_message(small_world, tmp_path, plugin_parent):
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    inputs = model_inputs(small_world)
    del inputs["GPP"]
    args = ["run", "soilp:fullanalysis", "--"] + [f"{k}={v}" for k, v in inputs.items()]
    args.append(f"OUTPUT_FOLDER={tmp_path}")
    completed = run_qgis_process(args, profile, plugin_parent)
    assert completed.returncode != 0
    assert "mandatory parameters were not specified" in completed.stdout + completed.stderr
    assert "GPP" in completed.stdout + completed.stderr
    assert not list(Path(tmp_path).glob("*.tif"))

