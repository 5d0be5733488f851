"""soilp:laggeddependence through Processing: a planted lag is found and the outputs open styled."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import monthly_dates, read_with_gdal, write_stack_with_gdal
from qgis.core import QgsProject


@pytest.fixture(scope="module")
def planted_lag_stacks(tmp_path_factory):
    """Soil moisture follows precipitation 3 months later (plus noise); one cell has no data."""
    folder = tmp_path_factory.mktemp("lags")
    rng = np.random.default_rng(3)
    dates = monthly_dates(2000, 10)
    precipitation = rng.gamma(2.0, 25.0, size=(len(dates), 4, 6))
    soil_moisture = (np.roll(precipitation, 3, axis=0) * 0.002
                     + rng.normal(0, 0.01, precipitation.shape))
    precipitation[:, 1, 2] = np.nan
    return (write_stack_with_gdal(folder / "p.tif", precipitation, dates),
            write_stack_with_gdal(folder / "sm.tif", soil_moisture, dates), folder)


def test_planted_lag_is_the_optimal_lag_everywhere(soilp_provider, planted_lag_stacks):
    import processing

    precipitation, soil_moisture, folder = planted_lag_stacks
    result = processing.run("soilp:laggeddependence", {
        "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(soil_moisture), "MAX_LAG": 6,
        "OUTPUT_TAU_BY_LAG": str(folder / "tau_by_lag.tif"),
        "OUTPUT_OPTIMAL_LAG": str(folder / "optimal_lag.tif"),
        "OUTPUT_TAU_AT_OPTIMAL_LAG": str(folder / "tau_at_lag.tif"),
        "OUTPUT_STATUS": str(folder / "status.tif")})
    lag = read_with_gdal(result["OUTPUT_OPTIMAL_LAG"])
    valid = np.ones(lag.shape, dtype=bool)
    valid[1, 2] = False
    assert (lag[valid] == 3).all()
    assert np.isnan(lag[1, 2])
    assert read_with_gdal(result["OUTPUT_STATUS"])[1, 2] == 1  # no data
    tau_lag3 = read_with_gdal(result["OUTPUT_TAU_BY_LAG"], band=4)
    np.testing.assert_allclose(read_with_gdal(result["OUTPUT_TAU_AT_OPTIMAL_LAG"])[valid],
                               tau_lag3[valid], rtol=1e-6)
    assert (tau_lag3[valid] > 0.6).all()
    assert np.nanmax(np.abs(read_with_gdal(result["OUTPUT_TAU_BY_LAG"], band=1))) < 0.3


def test_outputs_load_with_their_sidecar_styles(soilp_provider, planted_lag_stacks):
    import processing

    precipitation, soil_moisture, folder = planted_lag_stacks
    project = QgsProject.instance()
    project.clear()
    processing.runAndLoadResults("soilp:laggeddependence", {
        "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(soil_moisture), "MAX_LAG": 6,
        "OUTPUT_TAU_BY_LAG": str(folder / "loaded_tau_by_lag.tif"),
        "OUTPUT_OPTIMAL_LAG": str(folder / "loaded_optimal_lag.tif"),
        "OUTPUT_TAU_AT_OPTIMAL_LAG": str(folder / "loaded_tau_at_lag.tif")})
    layers = {layer.source(): layer for layer in project.mapLayers().values()}
    optimal = layers[str(folder / "loaded_optimal_lag.tif")]
    assert optimal.renderer().type() == "paletted"
    labels = {c.value: c.label for c in optimal.renderer().classes()}
    assert labels[3] == "3 months"
    tau = layers[str(folder / "loaded_tau_at_lag.tif")]
    assert tau.renderer().type() == "singlebandpseudocolor"
    shader = tau.renderer().shader().rasterShaderFunction()
    assert (shader.minimumValue(), shader.maximumValue()) == (-1.0, 1.0)
    project.clear()


def test_mismatched_stacks_fail_with_what_differs(soilp_provider, planted_lag_stacks, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    precipitation, _, _ = planted_lag_stacks
    short = write_stack_with_gdal(tmp_path / "short.tif", np.arange(119 * 24.0).reshape(119, 4, 6),
                                  monthly_dates(2000, 10)[:119])
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:laggeddependence", {
            "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(short),
            "OUTPUT_TAU_BY_LAG": str(tmp_path / "a.tif"),
            "OUTPUT_OPTIMAL_LAG": str(tmp_path / "b.tif"),
            "OUTPUT_TAU_AT_OPTIMAL_LAG": str(tmp_path / "c.tif")})
    message = str(raised.value)
    assert ("PRECIPITATION has 120 time steps, SOIL_MOISTURE 119; first difference at 2009-12"
            in message)
    assert not (tmp_path / "a.tif").exists()


def test_corrupt_stack_fails_with_one_line_naming_the_file(soilp_provider, planted_lag_stacks,
                                                          tmp_path):
    """A GeoTIFF cut short after its header: refused before the engine starts, naming the
    parameter and the file (the engine's own reader names it too: tests/engine/test_timestack)."""
    import processing
    from qgis.core import QgsProcessingException

    precipitation, soil_moisture, _ = planted_lag_stacks
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(soil_moisture.read_bytes()[:600])
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:laggeddependence", {
            "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(corrupt),
            "OUTPUT_TAU_BY_LAG": str(tmp_path / "a.tif"),
            "OUTPUT_OPTIMAL_LAG": str(tmp_path / "b.tif"),
            "OUTPUT_TAU_AT_OPTIMAL_LAG": str(tmp_path / "c.tif")})
    message = str(raised.value)
    assert "Could not load source layer for SOIL_MOISTURE" in message
    assert message.rstrip().endswith("corrupt.tif not found")
    assert not (tmp_path / "a.tif").exists()


def test_significance_and_stability_load_styled(soilp_provider, planted_lag_stacks):
    """The planted lag is significant (positive) and stable under the bootstrap; the int8
    significance map opens with its named classes, nodata where the cell has no data."""
    import processing

    precipitation, soil_moisture, folder = planted_lag_stacks
    project = QgsProject.instance()
    project.clear()
    result = processing.runAndLoadResults("soilp:laggeddependence", {
        "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(soil_moisture), "MAX_LAG": 6,
        "ALPHA": 0.05, "BOOTSTRAP_REPLICATES": 40, "SEED": 1,
        "OUTPUT_OPTIMAL_LAG": str(folder / "sig_optimal_lag.tif"),
        "OUTPUT_SIGNIFICANCE": str(folder / "significance.tif"),
        "OUTPUT_LAG_STABILITY": str(folder / "lag_stability.tif")})
    significance = read_with_gdal(result["OUTPUT_SIGNIFICANCE"])
    stability = read_with_gdal(result["OUTPUT_LAG_STABILITY"])
    valid = np.ones(significance.shape, dtype=bool)
    valid[1, 2] = False
    assert (significance[valid] == 1).all() and np.isnan(significance[1, 2])
    assert (stability[valid] == 1.0).all() and np.isnan(stability[1, 2])
    layers = {layer.source(): layer for layer in project.mapLayers().values()}
    layer = layers[str(folder / "significance.tif")]
    assert layer.renderer().type() == "paletted"
    labels = {c.value: c.label for c in layer.renderer().classes()}
    assert labels == {-1: "significantly negative", 0: "not significant",
                      1: "significantly positive"}
    assert layer.dataProvider().sourceNoDataValue(1) == -128
    project.clear()
