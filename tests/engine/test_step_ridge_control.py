"""The ridge_control step on small written stacks: planted drivers, values against a direct
``ridge_control`` call and scikit-learn, the colour composite's closed form, the class-share table,
the season selection, the legend and the styles."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from sklearn.linear_model import Ridge

from soilp_qgis.errors import InputError
from soilp_qgis.protocol import SilentReporter
from soilp_qgis.ridge import ridge_control as ridge_control_direct
from soilp_qgis.steps.ridge_control import ridge_control
from soilp_qgis.tables import biome_names
from soilp_qgis.timestack import Grid, write_raster, write_stack

ROWS, COLS, YEARS = 4, 5, 10
GRID = Grid.regular(-5.0, 44.0, 0.5, COLS, ROWS)
DATES = np.array([f"{2000 + i // 12}-{i % 12 + 1:02d}-01" for i in range(12 * YEARS)],
                 dtype="datetime64[D]")
# Planted dominant control per row: 1 volume, 2 frequency, 3 ET, 0 mixed.
PLANTED_ROWS = [1, 2, 3, 0]
NO_DATA_CELL = (3, 4)  # every input missing everywhere
TOO_FEW_CELL = (3, 3)  # soil moisture valid on 5 steps only
ECOREGION_CODES = np.where(np.arange(COLS) < 2, 1, 7)[None, :].repeat(ROWS, axis=0)


def planted_classes() -> np.ndarray:
    classes = np.repeat(np.array(PLANTED_ROWS)[:, None], COLS, axis=1).astype(float)
    classes[NO_DATA_CELL] = np.nan
    classes[TOO_FEW_CELL] = np.nan
    return classes


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """Frequency, volume, ET, air temperature independent; soil moisture driven per PLANTED_ROWS."""
    folder = tmp_path_factory.mktemp("ridge_step")
    rng = np.random.default_rng(11)
    shape = (len(DATES), ROWS, COLS)
    frequency = rng.uniform(2, 20, shape)
    volume = rng.gamma(2.0, 30.0, shape)
    et = rng.normal(80.0, 15.0, shape)
    temperature = rng.normal(15.0, 5.0, shape)
    z = {name: (v - v.mean(axis=0)) / v.std(axis=0) for name, v in
         (("f", frequency), ("v", volume), ("e", et))}
    driven = {1: z["v"], 2: z["f"], 3: -z["e"], 0: z["f"] + z["v"] - z["e"]}
    soil_moisture = np.empty(shape)
    for row, planted in enumerate(PLANTED_ROWS):
        soil_moisture[:, row] = 0.25 + 0.03 * driven[planted][:, row]
    soil_moisture += rng.normal(0.0, 0.003, shape)
    soil_moisture[5:, TOO_FEW_CELL[0], TOO_FEW_CELL[1]] = np.nan
    arrays = {"soil_moisture": soil_moisture, "precip_frequency": frequency,
              "precip_volume": volume, "evapotranspiration": et, "air_temperature": temperature}
    paths = {}
    for name, values in arrays.items():
        values[:, NO_DATA_CELL[0], NO_DATA_CELL[1]] = np.nan
        arrays[name] = values.astype(np.float32)
        paths[name] = str(write_stack(folder / f"{name}.tif", arrays[name], GRID, DATES,
                                      "monthly", ""))
    paths["ecoregions_raster"] = str(write_raster(folder / "eco.tif", ECOREGION_CODES, GRID,
                                                  "int16", None, style_qml=False))
    return folder, paths, arrays


def as_block(values: np.ndarray) -> np.ndarray:
    """(time, rows, cols) -> (cells, time)."""
    return values.reshape(values.shape[0], -1).T.astype(np.float64)


def read(path) -> tuple[np.ndarray, list]:
    """Values (bands, rows, cols) with nodata as NaN, and the band descriptions."""
    with rasterio.open(path) as src:
        return src.read(masked=True).astype(np.float64).filled(np.nan), list(src.descriptions)


def run_step(folder, paths, prefix: str, **extra) -> dict:
    params = {**paths, **{f"output_{name}": str(folder / f"{prefix}_{name}.{ext}") for name, ext in
                          (("coefficients", "tif"), ("weights", "tif"), ("rgb", "tif"),
                           ("dominant", "tif"), ("status", "tif"), ("table", "csv"))},
              "processes": 1, **extra}
    return ridge_control(params, SilentReporter())


@pytest.fixture(scope="module")
def automatic(stacks):
    folder, paths, arrays = stacks
    results = run_step(folder, paths, "auto")
    direct = ridge_control_direct(*(as_block(arrays[k]) for k in (
        "soil_moisture", "precip_frequency", "precip_volume", "evapotranspiration",
        "air_temperature")))
    return results, direct


def test_planted_drivers_are_the_dominant_classes(automatic):
    results, _ = automatic
    dominant, _ = read(results["OUTPUT_DOMINANT"])
    planted = planted_classes()
    known = np.isfinite(planted)
    np.testing.assert_array_equal(dominant[0][known], planted[known])
    assert np.isnan(dominant[0][NO_DATA_CELL]) and np.isnan(dominant[0][TOO_FEW_CELL])
    status, _ = read(results["OUTPUT_STATUS"])
    assert status[0][NO_DATA_CELL] == 1 and status[0][TOO_FEW_CELL] == 2
    assert (status[0][known] == 0).all()
    assert results["FITTED_CELLS"] == int(known.sum())


def test_coefficients_alpha_and_weights_equal_the_direct_fit(automatic):
    results, direct = automatic
    coefficients, descriptions = read(results["OUTPUT_COEFFICIENTS"])
    assert len(descriptions) == 5 and descriptions[4].startswith("α")
    assert [d.split()[0] for d in descriptions[:4]] == ["β_freq", "β_vol", "β_ET", "β_Ta"]
    expected = np.vstack([direct.coefficients.T, direct.alpha[None]]).reshape(5, ROWS, COLS)
    np.testing.assert_allclose(coefficients, expected.astype(np.float32), rtol=1e-6, equal_nan=True)
    weights, descriptions = read(results["OUTPUT_WEIGHTS"])
    assert [d.split()[0] for d in descriptions] == ["W_freq", "W_vol", "W_ET"]
    np.testing.assert_allclose(weights, direct.weights.T.reshape(3, ROWS, COLS).astype(np.float32),
                               rtol=1e-6, equal_nan=True)
    assert np.isfinite(direct.alpha[direct.status == 0]).all()


def test_fixed_alpha_matches_scikit_learn_on_z_scores(stacks):
    folder, paths, arrays = stacks
    results = run_step(folder, paths, "fixed", alpha=2.5)
    coefficients, descriptions = read(results["OUTPUT_COEFFICIENTS"])
    assert len(descriptions) == 4  # no α band when α is fixed
    names = ("soil_moisture", "precip_frequency", "precip_volume", "evapotranspiration",
             "air_temperature")
    for row, col in ((0, 0), (1, 3), (2, 2), (3, 1)):
        series = [arrays[name][:, row, col].astype(np.float64) for name in names]
        z = [(s - s.mean()) / s.std() for s in series]
        expected = Ridge(alpha=2.5).fit(np.column_stack(z[1:]), z[0]).coef_
        np.testing.assert_allclose(coefficients[:, row, col], expected, rtol=1e-5, atol=1e-6)


def test_rgb_composite_is_the_cmy_closed_form_and_a_colour_image(automatic):
    results, direct = automatic
    with rasterio.open(results["OUTPUT_RGB"]) as raw:
        stored = raw.read()
        assert [c.name for c in raw.colorinterp] == ["red", "green", "blue"]
        assert raw.nodata == 0 and raw.dtypes == ("uint8",) * 3
    w = direct.weights  # (cells, 3) frequency, volume, ET
    fitted = direct.status == 0
    expected = np.zeros((3, w.shape[0]), dtype=np.uint8)
    for band, weight in enumerate((w[:, 0], w[:, 1], w[:, 2])):  # R = 255 (1 - W_freq), …
        expected[band, fitted] = np.clip(np.rint(255 * (1 - weight[fitted])), 1, 255)
    np.testing.assert_array_equal(stored, expected.reshape(3, ROWS, COLS))
    renderer = ET.parse(results["OUTPUT_RGB"].replace(".tif", ".qml")).getroot().find(
        "pipe/rasterrenderer")
    assert renderer.get("type") == "multibandcolor"
    assert (renderer.get("redBand"), renderer.get("greenBand"),
            renderer.get("blueBand")) == ("1", "2", "3")


def test_dominant_style_names_the_classes_in_composite_colours(automatic):
    results, _ = automatic
    entries = ET.parse(results["OUTPUT_DOMINANT"].replace(".tif", ".qml")).getroot().findall(
        "pipe/rasterrenderer/colorPalette/paletteEntry")
    by_value = {int(e.get("value")): (e.get("label"), e.get("color")) for e in entries}
    assert by_value[1][0].startswith("1 volume") and by_value[1][1] == "#ff01ff"  # magenta
    assert by_value[2][0].startswith("2 frequency") and by_value[2][1] == "#01ffff"  # cyan
    assert by_value[3][0].startswith("3 evapotranspiration")
    assert by_value[3][1] == "#ffff01"  # yellow
    assert by_value[0][0] == "0 mixed"


def test_table_shares_equal_hand_counts_overall_and_per_ecoregion(automatic):
    results, _ = automatic
    with open(results["OUTPUT_TABLE"], newline="") as handle:
        rows = {row["ecoregion"]: row for row in csv.DictReader(handle)}
    planted = planted_classes()
    names = biome_names()
    regions = {"all": np.ones(planted.shape, dtype=bool),
               f"1 {names[1]}": ECOREGION_CODES == 1, f"7 {names[7]}": ECOREGION_CODES == 7}
    assert set(rows) == set(regions)
    for region, members in regions.items():
        counted = planted[members & np.isfinite(planted)]
        assert int(rows[region]["valid_cells"]) == counted.size
        for code, column in ((0, "mixed"), (1, "volume"), (2, "frequency"),
                             (3, "evapotranspiration")):
            assert float(rows[region][f"{column}_share"]) == pytest.approx(
                np.count_nonzero(counted == code) / counted.size, abs=1e-6)


def test_legend_is_written_next_to_the_composite(automatic):
    results, _ = automatic
    legend = results["OUTPUT_LEGEND"]
    assert legend == results["OUTPUT_RGB"].replace(".tif", "_legend.png")
    with open(legend, "rb") as handle:
        content = handle.read()
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) > 10_000


def test_season_uses_only_that_seasons_months(stacks):
    folder, paths, arrays = stacks
    without_temperature = {k: v for k, v in paths.items() if k != "air_temperature"}
    results = run_step(folder, without_temperature, "jja", season="JJA", alpha=0.5,
                       color_model="RGB", output_legend=str(folder / "jja_legend.png"))
    months = np.array([int(str(d)[5:7]) for d in DATES])
    summer = np.isin(months, (6, 7, 8))
    assert summer.sum() == 3 * YEARS
    direct = ridge_control_direct(*(as_block(arrays[k][summer]) for k in (
        "soil_moisture", "precip_frequency", "precip_volume", "evapotranspiration")), alpha=0.5)
    coefficients, descriptions = read(results["OUTPUT_COEFFICIENTS"])
    assert "no air temperature" in descriptions[3]
    np.testing.assert_allclose(coefficients, direct.coefficients.T.reshape(4, ROWS, COLS).astype(
        np.float32), rtol=1e-6, equal_nan=True)
    # The all-steps fit differs, so the season really changed the data.
    everything, _ = read(run_step(folder, without_temperature, "all",
                                  alpha=0.5)["OUTPUT_COEFFICIENTS"])
    assert np.nanmax(np.abs(everything[:3] - coefficients[:3])) > 1e-3
    with rasterio.open(results["OUTPUT_RGB"]) as raw:  # RGB model: R = 255 W_vol, G = 255 W_freq
        stored = raw.read()
    fitted = direct.status == 0
    w = direct.weights[fitted]
    for band, column in ((0, 1), (1, 0), (2, 2)):
        np.testing.assert_array_equal(stored[band].ravel()[fitted],
                                      np.clip(np.rint(255 * w[:, column]), 1, 255))
    assert results["OUTPUT_LEGEND"] == str(folder / "jja_legend.png")
    assert (folder / "jja_legend.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_input_fails_before_any_output(stacks, tmp_path):
    folder, paths, arrays = stacks
    annual = str(write_stack(tmp_path / "annual.tif", arrays["soil_moisture"][:3], GRID,
                             np.array(["2000-01-01", "2001-01-01", "2002-01-01"],
                                      dtype="datetime64[D]"),
                             "annual", ""))
    annual_paths = {k: annual for k in ("soil_moisture", "precip_frequency", "precip_volume",
                                        "evapotranspiration")}
    with pytest.raises(InputError, match="annual"):
        ridge_control({**annual_paths, "season": "DJF", "output_dominant": str(tmp_path / "a.tif")},
                      SilentReporter())
    with pytest.raises(InputError, match="STRONG_CONTROL"):
        ridge_control({**paths, "strong_control": 1.5, "output_dominant": str(tmp_path / "b.tif")},
                      SilentReporter())
    with pytest.raises(InputError, match="COLOR_MODEL"):
        ridge_control({**paths, "color_model": "HSV", "output_dominant": str(tmp_path / "d.tif")},
                      SilentReporter())
    assert list(tmp_path.glob("*.tif")) == [tmp_path / "annual.tif"]


def test_a_season_too_short_for_any_cell_is_refused_naming_the_season(stacks, tmp_path):
    """MAM of the test stacks keeps fewer time steps than MIN_OBSERVATIONS 40: the run fails
    saying so, and writes nothing."""
    _, paths, _ = stacks
    with pytest.raises(InputError, match=r"^SEASON MAM keeps \d+ time steps of \w+, fewer than "
                                         r"MIN_OBSERVATIONS 40: no cell can be computed"):
        ridge_control({**paths, "season": "MAM", "min_observations": 40,
                       "output_status": str(tmp_path / "status.tif")}, SilentReporter())
    assert not (tmp_path / "status.tif").exists()
