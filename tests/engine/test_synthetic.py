"""Plausibility of the synthetic study area against physical bounds and closed forms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from scipy.stats import kendalltau

from soilp_qgis.errors import InputError
from soilp_qgis.synthetic import (
    SOIL_LAYERS_CM,
    biome_polygons,
    land,
    make_geography,
    simulate,
    weather,
)

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "real"
BIOMES_JSON = json.loads((ROOT / "resources" / "biomes.json").read_text(encoding="utf-8"))
PARAMS_JSON = json.loads((ROOT / "resources" / "biome_parameters.json").read_text(encoding="utf-8"))
ALL_CODES = {b["code"] for b in BIOMES_JSON["biomes"]}
DESERT, MOIST_FOREST, BOREAL, TUNDRA, MEDITERRANEAN = 13, 1, 6, 11, 12


def _param(code: int, section: str, key: str) -> float:
    return PARAMS_JSON["biomes"][str(code)][section][key]


def monthly_sum(daily: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Monthly sums of a (days, rows, cols) stack, computed independently of the engine."""
    months = dates.astype("datetime64[M]")
    out = []
    for month in np.unique(months):
        out.append(daily[months == month].astype(np.float64).sum(axis=0))
    return np.stack(out)


@pytest.fixture(scope="module")
def default_geography():
    return make_geography()


@pytest.fixture(scope="module")
def default_world(default_geography):
    # the default area, eight years (96 months) so that monthly Kendall's tau is meaningful
    return simulate(default_geography, 2000, 2007, seed=0)


@pytest.fixture(scope="module")
def small_world():
    # Europe-like window from the subtropics to the Arctic, with daily diagnostics
    geography = make_geography(extent=(-20.0, 20.0, 60.0, 80.0), resolution=4.0, seed=3)
    return simulate(geography, 2000, 2002, seed=5, diagnostics=True)


# --- geography -----------------------------------------------------------------------------

def test_default_geography_has_all_16_biomes_on_a_north_up_grid(default_geography):
    g = default_geography
    assert g.shape == (45, 180)
    assert g.lat[0] == pytest.approx(89.0) and g.lat[-1] == pytest.approx(1.0)
    assert g.lon[0] == pytest.approx(-179.0) and g.lon[-1] == pytest.approx(179.0)
    codes = set(np.unique(g.biome).tolist())
    assert codes == ALL_CODES | {0}
    assert g.biome.dtype == np.uint8
    assert np.array_equal(g.land, g.biome > 0)
    # northernmost land is cold, equatorial land warm
    north, south = g.lat > 70, g.lat < 15
    assert np.nanmean(g.mean_temperature[north]) < -5 < 20 < np.nanmean(g.mean_temperature[south])


def test_geography_is_deterministic_per_seed_and_a_window_of_one_world(default_geography):
    again = make_geography(seed=0)
    assert np.array_equal(again.biome, default_geography.biome)
    assert np.array_equal(again.annual_precipitation, default_geography.annual_precipitation,
                          equal_nan=True)
    other = make_geography(seed=1)
    assert (other.biome != default_geography.biome).mean() > 0.02
    # a sub-extent cuts the same continents out of the same world
    window = make_geography(extent=(-40.0, 20.0, 60.0, 70.0), resolution=2.0, seed=0)
    rows = slice(10, 35)      # 70°N … 20°N
    cols = slice(70, 120)     # 40°W … 60°E
    assert np.array_equal(window.land, default_geography.land[rows, cols])


def test_biomes_from_a_given_raster_keep_the_map_and_hold_climate_in_envelope():
    rasterio = pytest.importorskip("rasterio")
    path = REAL / "biomes" / "wwf_biome_code_0p25deg_NH.tif"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    with rasterio.open(path) as src:
        fine = src.read(1)
    coarse = fine[4::8, 4::8]            # the centre cell of each 2° block
    g = make_geography(resolution=2.0, biome_codes=coarse)
    assert np.array_equal(g.biome, coarse)
    for code in ALL_CODES:
        cells = g.biome == code
        lo, hi = PARAMS_JSON["biomes"][str(code)]["climate"]["annual_precipitation"]
        assert np.all((g.annual_precipitation[cells] >= lo) & (g.annual_precipitation[cells] <= hi))
    world = simulate(g, 2000, 2001, seed=1)
    years = 2
    p_year = np.nansum(world.precipitation.astype(float), axis=0) / years
    desert, forest = g.biome == DESERT, g.biome == MOIST_FOREST
    assert p_year[desert].mean() < 350 < 1500 < p_year[forest].mean()
    sm = world.soil_moisture.mean(axis=1)
    for layer in range(3):
        assert sm[layer][desert].mean() < 0.5 * sm[layer][forest].mean()


def test_wrong_inputs_give_clear_errors(default_geography):
    with pytest.raises(InputError, match="multiple of RESOLUTION"):
        make_geography(extent=(0, 0, 5, 4), resolution=2.0)
    with pytest.raises(InputError, match="rows"):
        make_geography(extent=(0, 0, 4, 4), resolution=2.0, biome_codes=np.ones((3, 2), np.uint8))
    with pytest.raises(InputError, match="not WWF biome codes"):
        make_geography(extent=(0, 0, 4, 4), resolution=2.0,
                       biome_codes=np.array([[1, 15], [0, 4]], np.uint8))
    with pytest.raises(InputError, match="END_YEAR"):
        simulate(default_geography, 2005, 2004)


# --- physics -------------------------------------------------------------------------------

def test_soil_moisture_stays_between_zero_and_porosity(default_world):
    g = default_world.geography
    porosity = np.full(g.shape, np.nan)
    for code in ALL_CODES:
        porosity[g.biome == code] = _param(code, "soil", "porosity")
    sm = default_world.soil_moisture
    assert sm.shape == (3, 96) + g.shape
    land = g.land
    assert np.all(np.isnan(sm[:, :, ~land]))
    values = sm[:, :, land]
    assert np.all(values > 0.0)
    assert np.all(values <= porosity[land] + 1e-6)


def test_water_balance_closes_per_cell(small_world):
    d = small_world.daily_diagnostics
    land = small_world.geography.land
    p = d["precipitation"].sum(axis=0)
    out = d["evapotranspiration"].sum(axis=0) + d["runoff"].sum(axis=0) + d["drainage"].sum(axis=0)
    storage = d["soil_water"][-1] - d["initial_soil_water"]
    snow = d["snow_water_equivalent"][-1] - d["initial_snow_water_equivalent"]
    residual = p - out - storage - snow
    assert np.all(np.abs(residual[land]) <= 0.005 * p[land])
    # the daily precipitation stack is the precipitation that entered the balance
    np.testing.assert_allclose(small_world.precipitation[:, land], d["precipitation"][:, land],
                               rtol=1e-6, atol=1e-5)
    # monthly ET adds up to the daily ET
    np.testing.assert_allclose(small_world.evapotranspiration.sum(axis=0)[land],
                               d["evapotranspiration"].sum(axis=0)[land], rtol=1e-5)
    # the per-cell totals kept without diagnostics agree
    wb = small_world.water_balance
    closure = (wb["precipitation"] - wb["evapotranspiration"] - wb["runoff"] - wb["drainage"]
               - wb["storage_change"] - wb["snow_change"])
    assert np.all(np.abs(closure[land]) <= 1e-6 * wb["precipitation"][land])


def test_frozen_soil_blocks_infiltration():
    # one cell, three layers: a frozen soil takes nothing, a thawed one takes the rain
    depths = np.array([70.0, 210.0, 720.0])
    soil = land.SoilParameters.from_volumetric(
        depths, np.array([0.45]), np.array([0.30]), np.array([0.12]),
        np.array([[0.5], [0.3], [0.2]]), np.array([0.2]), np.array([100.0]), np.array([0.0]))
    water = soil.wilting_point + 5.0
    rain = np.array([20.0])
    frozen_water, frozen = land.soil_step(water, rain, np.array([True]), np.array([3.0]),
                                          np.array([1.0]), soil)
    assert np.array_equal(frozen_water, water)
    assert frozen["runoff"][0] == 20.0 and frozen["infiltration"][0] == 0.0
    assert frozen["evapotranspiration"][0] == 0.0
    thawed_water, thawed = land.soil_step(water, rain, np.array([False]), np.array([3.0]),
                                          np.array([1.0]), soil)
    assert thawed["infiltration"][0] > 15.0
    gained = thawed_water.sum() - water.sum()
    assert gained + thawed["runoff"][0] + thawed["evapotranspiration"][0] + thawed["drainage"][0] \
        == pytest.approx(20.0, abs=1e-9)


def test_frozen_days_in_the_simulation_send_all_water_to_runoff(small_world):
    d = small_world.daily_diagnostics
    land_mask = small_world.geography.land
    frozen = d["frozen"][:, land_mask] > 0.5
    liquid = d["liquid_input"][:, land_mask]
    assert (frozen & (liquid > 1.0)).sum() > 50          # melt or rain on frozen ground happens
    assert np.all(d["infiltration"][:, land_mask][frozen] == 0.0)
    np.testing.assert_allclose(d["runoff"][:, land_mask][frozen], liquid[frozen], atol=1e-12)
    # nothing enters or leaves a frozen soil: its water stays the same from one day to the next
    water = d["soil_water"][:, land_mask]
    still = frozen[1:]
    np.testing.assert_allclose(water[1:][still], water[:-1][still], atol=1e-9)
    # snow only accumulates on days at or below 0 °C
    snowfall = d["snowfall"][:, land_mask]
    assert np.all(d["air_temperature"][:, land_mask][snowfall > 0] <= 0.0)


def test_dry_days_are_warmer_than_wet_days(small_world):
    d = small_world.daily_diagnostics
    land_mask = small_world.geography.land
    wet = d["precipitation"][:, land_mask] > 0
    t = d["air_temperature"][:, land_mask]
    doy = (small_world.daily_dates - small_world.daily_dates.astype("datetime64[Y]")).astype(int)
    summer = (doy > 150) & (doy < 240)
    t_summer, wet_summer = t[summer], wet[summer]
    assert t_summer[~wet_summer].mean() > t_summer[wet_summer].mean() + 1.0


def test_deserts_are_dry_and_rainforests_wet(default_world):
    w, g = default_world, default_world.geography
    years = 8
    p_year = np.nansum(w.precipitation.astype(float), axis=0) / years
    et_year = w.evapotranspiration.sum(axis=0) / years
    desert, forest = g.biome == DESERT, g.biome == MOIST_FOREST
    assert p_year[desert].mean() < 300 and p_year[forest].mean() > 1800
    assert et_year[desert].mean() < 250 < 1000 < et_year[forest].mean()
    # ET never exceeds precipitation plus the storage the soil can give up
    assert np.all(et_year[forest] < p_year[forest])
    sm = w.soil_moisture.mean(axis=1)
    for layer in range(3):
        assert sm[layer][desert].mean() < 0.4 * sm[layer][forest].mean()
    gpp = w.gross_primary_production.mean(axis=0)
    assert gpp[desert].mean() < 0.5 < 5.0 < gpp[forest].mean()
    offset = (w.land_surface_temperature - 273.15 - w.air_temperature).mean(axis=0)
    assert offset[desert].mean() > offset[forest].mean() + 5.0


def test_simulation_is_deterministic_per_seed():
    g = make_geography(extent=(0.0, 30.0, 40.0, 60.0), resolution=5.0)
    a = simulate(g, 2001, 2001, seed=3, spin_up_years=0)
    b = simulate(g, 2001, 2001, seed=3, spin_up_years=0)
    c = simulate(g, 2001, 2001, seed=4, spin_up_years=0)
    assert np.array_equal(a.precipitation, b.precipitation, equal_nan=True)
    assert np.array_equal(a.soil_moisture, b.soil_moisture, equal_nan=True)
    assert not np.array_equal(a.precipitation, c.precipitation, equal_nan=True)
    assert a.daily_dates[0] == np.datetime64("2001-01-01") and a.daily_dates.size == 365
    assert a.monthly_dates[-1] == np.datetime64("2001-12-01") and a.monthly_dates.size == 12


def test_negative_dependence_where_summer_rain_meets_high_et_or_frozen_soil(default_world):
    w, g = default_world, default_world.geography
    p_month = monthly_sum(w.precipitation, w.daily_dates)
    assert p_month.shape[0] == 96

    def negative_share(code: int, layer: int) -> float:
        rows, cols = np.nonzero(g.biome == code)
        taus = [kendalltau(p_month[:, r, c], w.soil_moisture[layer, :, r, c]).statistic
                for r, c in zip(rows, cols)]
        return float(np.mean(np.asarray(taus) < 0))

    # frozen soils: winter water is locked in, summer rain meets high ET
    assert negative_share(TUNDRA, 0) > 0.5
    assert negative_share(BOREAL, 0) > 0.2
    # deserts: summer storms run off hot sealed ground; the deeper layers peak in the cool season
    assert negative_share(DESERT, 2) > 0.2
    # moist forests and winter-rain climates: soil water follows the rain
    for layer in range(3):
        assert negative_share(MOIST_FOREST, layer) < 0.05
        assert negative_share(MEDITERRANEAN, layer) < 0.05


def test_progress_is_reported_about_every_30_days():
    class Recorder:
        def __init__(self):
            self.fractions = []

        def progress(self, fraction):
            self.fractions.append(fraction)

    g = make_geography(extent=(0.0, 40.0, 20.0, 60.0), resolution=5.0)
    recorder = Recorder()
    simulate(g, 2001, 2002, report=recorder, spin_up_years=1)
    days = 365 * 3
    assert days // 30 <= len(recorder.fractions) <= days // 30 + 2
    assert np.all(np.diff(recorder.fractions) > 0) and recorder.fractions[-1] == 1.0


# --- formulas --------------------------------------------------------------------------------

def test_radiation_and_pet_match_fao56_worked_examples():
    # FAO-56 example 8: 20°S on 3 September → Ra = 32.2 MJ m-2 d-1
    assert weather.extraterrestrial_radiation(-20.0, 246) == pytest.approx(32.2, abs=0.1)
    # Hargreaves (FAO-56 eq. 52) with Ra = 32.2 MJ (13.1 mm), Tmean 20.5 °C, Tmax − Tmin 11 °C
    expected = 0.0023 * (20.5 + 17.8) * np.sqrt(11.0) * 32.2 * 0.408
    assert weather.hargreaves_pet(20.5, 11.0, 32.2) == pytest.approx(expected, rel=2e-3)
    # Priestley–Taylor at 20 °C, sea level, Rn = 10 MJ: Δ = 0.1447 kPa/°C, γ = 0.0674 kPa/°C
    expected = 1.26 * 0.1447 / (0.1447 + 0.0674) * 10.0 / 2.45
    assert weather.priestley_taylor_pet(20.0, 10.0, 0.0) == pytest.approx(expected, rel=2e-3)
    # a stationary two-state chain: π = p01 / (1 − p11 + p01)
    p01, p11 = weather.markov_transitions(0.3, 0.4)
    assert p01 / (1 - p11 + p01) == pytest.approx(0.3)
    assert p11 - p01 == pytest.approx(0.4)


def test_markov_gamma_rain_matches_the_planted_wet_day_fraction(small_world):
    # over the simulated area the share of wet days follows each biome's wet_day_fraction
    g = small_world.geography
    wet = (small_world.precipitation > 0).mean(axis=0)
    for code in np.unique(g.biome[g.land]):
        cells = g.biome == code
        if cells.sum() < 5 or _param(int(code), "rain", "frequency_share") != 0.6:
            continue
        planted = _param(int(code), "rain", "wet_day_fraction")
        assert wet[cells].mean() == pytest.approx(planted, rel=0.25)


def test_biome_polygons_rasterize_back_to_the_biome_raster(default_geography):
    from rasterio import features
    g = default_geography
    polygons = biome_polygons(g)
    assert list(polygons.columns) == ["BIOME", "BIOME_NAME", "geometry"]
    names = {b["code"]: b["name"] for b in BIOMES_JSON["biomes"]}
    assert all(names[c] == n for c, n in zip(polygons["BIOME"], polygons["BIOME_NAME"]))
    burned = features.rasterize(zip(polygons.geometry, polygons["BIOME"]), out_shape=g.shape,
                                transform=g.transform, fill=0, dtype="uint8")
    assert np.array_equal(burned, g.biome)
    # each polygon's area is a whole number of cells
    cells = shapely.area(polygons.geometry.values) / g.resolution ** 2
    np.testing.assert_allclose(cells, np.round(cells), atol=1e-9)
    assert int(round(cells.sum())) == int(g.land.sum())


def test_output_stacks_name_units_and_layers(small_world):
    stacks = {s["name"]: s for s in small_world.output_stacks()}
    assert stacks["precipitation"]["units"] == "mm/day"
    assert stacks["precipitation"]["time_scale"] == "daily"
    names = [f"soil_moisture_{a}_{b}cm" for a, b in SOIL_LAYERS_CM]
    for i, name in enumerate(names):
        assert stacks[name]["units"] == "m3/m3"
        assert np.array_equal(stacks[name]["data"], small_world.soil_moisture[i], equal_nan=True)
    assert stacks["land_surface_temperature"]["units"] == "K"
    lst = stacks["land_surface_temperature"]["data"]
    land_mask = small_world.geography.land
    assert np.all((lst[:, land_mask] > 200) & (lst[:, land_mask] < 340))
