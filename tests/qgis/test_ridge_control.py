"""soilp:ridgecontrol through Processing: planted drivers are found, the composite opens as a colour
image, the dominant map is styled with its classes, and the legend is a PNG beside the composite."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import monthly_dates, read_with_gdal, write_stack_with_gdal
from qgis.core import QgsRasterLayer

# Planted dominant driver per row: 1 volume, 2 frequency, 3 ET, 0 mixed.
PLANTED_ROWS = [1, 2, 3, 0]
NO_DATA_CELL = (2, 5)


@pytest.fixture(scope="module")
def planted_driver_stacks(tmp_path_factory):
    """Soil moisture follows volume, frequency, −ET or all three, one row each; one cell empty."""
    folder = tmp_path_factory.mktemp("ridge")
    rng = np.random.default_rng(5)
    dates = monthly_dates(2001, 8)
    shape = (len(dates), 4, 6)
    frequency = rng.uniform(1, 25, shape)
    volume = rng.gamma(2.0, 40.0, shape)
    et = rng.normal(70.0, 20.0, shape)
    z = [(v - v.mean(axis=0)) / v.std(axis=0) for v in (frequency, volume, et)]
    driven = {1: z[1], 2: z[0], 3: -z[2], 0: z[0] + z[1] - z[2]}
    soil_moisture = np.empty(shape)
    for row, planted in enumerate(PLANTED_ROWS):
        soil_moisture[:, row] = 0.3 + 0.04 * driven[planted][:, row]
    soil_moisture += rng.normal(0.0, 0.004, shape)
    paths = {}
    for name, values in (("SOIL_MOISTURE", soil_moisture), ("PRECIP_FREQUENCY", frequency),
                         ("PRECIP_VOLUME", volume), ("EVAPOTRANSPIRATION", et)):
        values[:, NO_DATA_CELL[0], NO_DATA_CELL[1]] = np.nan
        paths[name] = str(write_stack_with_gdal(folder / f"{name.lower()}.tif", values, dates))
    return paths, folder


def test_ridgecontrol_finds_planted_drivers_and_writes_a_colour_composite(
        soilp_provider, planted_driver_stacks):
    import processing

    paths, folder = planted_driver_stacks
    result = processing.run("soilp:ridgecontrol", {
        **paths, "OUTPUT_COEFFICIENTS": str(folder / "coefficients.tif"),
        "OUTPUT_WEIGHTS": str(folder / "weights.tif"), "OUTPUT_RGB": str(folder / "ternary.tif"),
        "OUTPUT_DOMINANT": str(folder / "dominant.tif"),
        "OUTPUT_STATUS": str(folder / "status.tif"),
        "OUTPUT_TABLE": str(folder / "shares.csv")})

    dominant = read_with_gdal(result["OUTPUT_DOMINANT"])
    expected = np.repeat(np.array(PLANTED_ROWS, dtype=float)[:, None], 6, axis=1)
    expected[NO_DATA_CELL] = np.nan
    np.testing.assert_array_equal(dominant, expected)
    assert read_with_gdal(result["OUTPUT_STATUS"])[NO_DATA_CELL] == 1  # no data

    # The CMY composite is 255·(1 − W) of the weights written beside it (to the float32 rounding).
    weights = np.stack([read_with_gdal(result["OUTPUT_WEIGHTS"], band) for band in (1, 2, 3)])
    composite = np.stack([read_with_gdal(result["OUTPUT_RGB"], band) for band in (1, 2, 3)])
    fitted = np.isfinite(weights[0])
    assert np.abs(composite[:, fitted]
                  - np.clip(np.rint(255 * (1 - weights[:, fitted])), 1, 255)).max() <= 1
    assert np.isnan(composite[:, NO_DATA_CELL[0], NO_DATA_CELL[1]]).all()  # nodata 0, transparent
    # Automatic α: five coefficient bands, the last the chosen penalty from the log grid.
    alpha = read_with_gdal(result["OUTPUT_COEFFICIENTS"], 5)[fitted]
    assert np.allclose(np.log10(alpha) * 4, np.rint(np.log10(alpha) * 4), atol=1e-4)

    rgb_layer = QgsRasterLayer(result["OUTPUT_RGB"], "ternary")
    assert rgb_layer.isValid()
    _, loaded = rgb_layer.loadDefaultStyle()
    assert loaded
    assert rgb_layer.renderer().type() == "multibandcolor"
    assert (rgb_layer.renderer().redBand(), rgb_layer.renderer().greenBand(),
            rgb_layer.renderer().blueBand()) == (1, 2, 3)

    dominant_layer = QgsRasterLayer(result["OUTPUT_DOMINANT"], "dominant")
    dominant_layer.loadDefaultStyle()
    assert dominant_layer.renderer().type() == "paletted"
    labels = {c.value: c.label for c in dominant_layer.renderer().classes()}
    assert labels[0] == "0 mixed" and labels[1].startswith("1 volume")
    assert labels[2].startswith("2 frequency") and labels[3].startswith("3 evapotranspiration")

    legend = result["OUTPUT_LEGEND"]
    assert legend == str(folder / "ternary_legend.png")
    with open(legend, "rb") as handle:
        content = handle.read()
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) > 10_000

    with open(result["OUTPUT_TABLE"], encoding="utf-8") as handle:
        header, row = handle.read().splitlines()[:2]
    assert header == ("ecoregion,valid_cells,mixed_share,volume_share,frequency_share,"
                      "evapotranspiration_share")
    # 23 fitted cells: 6 volume, 6 frequency, 5 ET (one ET cell is empty), 6 mixed.
    assert row.split(",")[:2] == ["all", "23"]
    np.testing.assert_allclose([float(v) for v in row.split(",")[2:]],
                               [6 / 23, 6 / 23, 6 / 23, 5 / 23], atol=1e-6)


def test_the_composite_alone_comes_with_its_legend(soilp_provider, planted_driver_stacks,
                                                    tmp_path):
    """Only OUTPUT_RGB asked for: the composite and its legend beside it, nothing else."""
    import processing

    paths, _ = planted_driver_stacks
    result = processing.run("soilp:ridgecontrol", {
        **paths, "ALPHA": 1.0, "PROCESSES": 1, "OUTPUT_RGB": str(tmp_path / "ternary.tif")})
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "ternary.qml", "ternary.tif", "ternary_legend.png"]   # (and the run's provenance/)
    assert result["OUTPUT_LEGEND"] == str(tmp_path / "ternary_legend.png")
    secondary = [name for name in ("OUTPUT_DOMINANT", "OUTPUT_WEIGHTS", "OUTPUT_TABLE")
                 if result.get(name)]
    assert secondary == []
