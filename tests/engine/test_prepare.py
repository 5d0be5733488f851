"""Time aggregation and grid alignment (soilp_qgis.prepare), checked by hand and on real files."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from soilp_qgis.errors import InputError
from soilp_qgis.prepare import aggregate_time, align_to_grid
from soilp_qgis.seasons import period_start, season_name
from soilp_qgis.timestack import Grid

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
EOBS = REAL / "cru_eobs_iberia" / "eobs_v17_iberia_daily_2000.nc"
CRU = REAL / "cru_eobs_iberia" / "cru_ts4.00_iberia_monthly_1981-2010.nc"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data folder {REAL} is absent")

WGS84 = CRS.from_epsg(4326)


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    """North-up transform from the upper-left corner and the cell size."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def read_netcdf(path: Path, variable: str):
    """Variable as north-up float64 (time, rows, cols), its dates and grid, read with netCDF4."""
    with netCDF4.Dataset(path) as ds:
        values = ds[variable][:].filled(np.nan).astype(np.float64)
        times = netCDF4.num2date(ds["time"][:], ds["time"].units, ds["time"].calendar)
        lat, lon = ds["lat"][:].data, ds["lon"][:].data
    dates = np.array([f"{t.year:04d}-{t.month:02d}-{t.day:02d}" for t in times], "datetime64[D]")
    if lat[0] < lat[-1]:
        values, lat = values[:, ::-1, :], lat[::-1]
    step = abs(float(lon[1] - lon[0]))
    grid = Grid(WGS84, from_origin(lon[0] - step / 2, lat[0] + step / 2, step, step),
                lon.size, lat.size)
    return np.ascontiguousarray(values), dates, grid


# --- seasons and aggregation checked by hand ---------------------------------------------------

def test_season_of_each_month_puts_january_and_february_in_the_previous_december():
    months = np.arange("2000-01", "2001-01", dtype="datetime64[M]")
    assert list(season_name(months)) == ["DJF", "DJF", "MAM", "MAM", "MAM", "JJA", "JJA", "JJA",
                                         "SON", "SON", "SON", "DJF"]
    starts = period_start(np.array(["2001-01-15", "2001-02-28", "2000-12-31"], "datetime64[D]"),
                          "seasonal")
    assert list(starts.astype(str)) == ["2000-12-01"] * 3


def test_djf_from_monthly_values_by_hand():
    # monthly values Nov 2000 … Jun 2002; value = 10 × (months since Nov 2000) + 1
    months = np.arange("2000-11", "2002-07", dtype="datetime64[M]")
    values = 10.0 * np.arange(months.size) + 1.0  # Nov00=1, Dec00=11, Jan01=21, Feb01=31, …
    result = aggregate_time(values[np.newaxis, :], months, "monthly", "seasonal", "mean")
    assert list(result.dates.astype(str)) == [
        "2000-12-01", "2001-03-01", "2001-06-01", "2001-09-01", "2001-12-01", "2002-03-01"]
    # DJF 2000/01 = Dec 2000, Jan 2001, Feb 2001 = 11, 21, 31
    assert result.values[0, 0] == pytest.approx((11 + 21 + 31) / 3)
    # MAM 2001 = Mar, Apr, May 2001 = 41, 51, 61; DJF 2001/02 = Dec 2001 … Feb 2002 = 131, 141, 151
    assert result.values[0, 1] == pytest.approx(51.0)
    assert result.values[0, 4] == pytest.approx(141.0)
    # SON 2000 has only November and JJA 2002 only June: both dropped and reported
    assert list(result.dropped.astype(str)) == ["2000-09-01", "2002-06-01"]
    sums = aggregate_time(values[np.newaxis, :], months, "monthly", "seasonal", "sum")
    assert sums.values[0, 0] == pytest.approx(11 + 21 + 31)


def test_daily_djf_spans_the_leap_february_and_is_stamped_with_december():
    days = np.arange("2003-12-01", "2004-06-01", dtype="datetime64[D]")
    ones = np.ones((2, days.size))
    result = aggregate_time(ones, days, "daily", "seasonal", "sum")
    assert list(result.dates.astype(str)) == ["2003-12-01", "2004-03-01"]
    # 31 (Dec) + 31 (Jan) + 29 (Feb 2004) days; MAM = 31 + 30 + 31
    np.testing.assert_array_equal(result.values, [[91, 92], [91, 92]])
    assert result.dropped.size == 0


def test_coverage_rule_and_scaled_sum_for_a_few_missing_days():
    days = np.arange("2001-01-01", "2001-02-01", dtype="datetime64[D]")  # 31 days
    data = np.full((3, 31), 2.0)
    data[0, :3] = np.nan   # 28 of 31 valid = 0.903 ≥ 0.9
    data[1, :4] = np.nan   # 27 of 31 = 0.871 < 0.9
    data[2, 10] = 0.5      # complete; one dry day
    total = aggregate_time(data, days, "daily", "monthly", "sum", min_coverage=0.9).values[:, 0]
    assert total[0] == pytest.approx(28 * 2.0 * 31 / 28)   # missing days at the valid mean
    assert np.isnan(total[1])
    assert total[2] == pytest.approx(30 * 2.0 + 0.5)
    wet = aggregate_time(data, days, "daily", "monthly", "wet_day_count").values[:, 0]
    assert wet[0] == pytest.approx(31.0) and np.isnan(wet[1]) and wet[2] == 30.0
    lenient = aggregate_time(data, days, "daily", "monthly", "mean", min_coverage=0.5).values
    np.testing.assert_allclose(lenient[:, 0], [2.0, 2.0, (60 + 0.5) / 31])


def test_min_max_mean_and_annual_against_numpy_per_period():
    rng = np.random.default_rng(7)
    days = np.arange("2001-01-01", "2003-01-01", dtype="datetime64[D]")
    data = rng.gamma(0.6, 4.0, size=(5, days.size))
    data[rng.random(data.shape) < 0.01] = np.nan   # a few gaps, well within 90 % coverage
    months = days.astype("datetime64[M]")
    for statistic, reference in (("min", np.nanmin), ("max", np.nanmax), ("mean", np.nanmean)):
        result = aggregate_time(data, days, "daily", "monthly", statistic)
        expected = np.stack([reference(data[:, months == m], axis=1) for m in np.unique(months)], 1)
        np.testing.assert_allclose(result.values, expected, rtol=1e-6)
    years = aggregate_time(data, days, "daily", "annual", "max")
    assert list(years.dates.astype(str)) == ["2001-01-01", "2002-01-01"]
    np.testing.assert_allclose(years.values[:, 1], np.nanmax(data[:, 365:], axis=1), rtol=1e-6)


def test_any_leading_shape_works_with_time_last():
    days = np.arange("2001-01-01", "2001-03-01", dtype="datetime64[D]")
    cube = np.arange(2 * 3 * days.size, dtype=float).reshape(2, 3, days.size)
    result = aggregate_time(cube, days, "daily", "monthly", "sum")
    assert result.values.shape == (2, 3, 2)
    np.testing.assert_allclose(result.values[1, 2], [cube[1, 2, :31].sum(), cube[1, 2, 31:].sum()])


# --- wrong inputs: one clear error each ---------------------------------------------------------

def test_daily_statistic_of_a_monthly_stack_names_the_stack_and_its_scale():
    months = np.arange("2001-01", "2002-01", dtype="datetime64[M]")
    with pytest.raises(InputError, match=r"wet_day_count needs daily values but precip\.tif is a "
                                         r"monthly stack"):
        aggregate_time(np.ones((1, 12)), months, "monthly", "annual", "wet_day_count",
                       name="precip.tif")


def test_stack_without_dates_is_refused():
    with pytest.raises(InputError, match="sm.tif has no band dates"):
        aggregate_time(np.ones((1, 12)), None, "monthly", "annual", "mean", name="sm.tif")
    with pytest.raises(InputError, match="band without a date"):
        aggregate_time(np.ones((1, 2)), np.array(["2001-01-01", "NaT"], "datetime64[D]"),
                       "monthly", "annual", "mean")


def test_other_wrong_inputs():
    months = np.arange("2001-01", "2002-01", dtype="datetime64[M]")
    with pytest.raises(InputError, match="must be coarser"):
        aggregate_time(np.ones((1, 12)), months, "monthly", "monthly", "mean")
    with pytest.raises(InputError, match="12 time steps but 11 band dates"):
        aggregate_time(np.ones((1, 12)), months[:11], "monthly", "annual", "mean")
    with pytest.raises(InputError, match="must increase"):
        aggregate_time(np.ones((1, 12)), months[::-1], "monthly", "annual", "mean")
    with pytest.raises(InputError, match="covers no complete annual period"):
        aggregate_time(np.ones((1, 6)), months[:6], "monthly", "annual", "mean")
    seasons = np.array(["2001-03-01", "2001-06-01", "2001-09-01", "2001-12-01"], "datetime64[D]")
    with pytest.raises(InputError, match="DJF seasons straddle two years"):
        aggregate_time(np.ones((1, 4)), seasons, "seasonal", "annual", "mean")
    with pytest.raises(InputError, match="statistic 'median'"):
        aggregate_time(np.ones((1, 12)), months, "monthly", "annual", "median")


# --- real files ---------------------------------------------------------------------------------

@needs_real
def test_eobs_daily_rr_to_monthly_sum_and_wet_day_count_match_numpy_from_the_netcdf():
    rr, dates, _ = read_netcdf(EOBS, "rr")
    assert dates.size == 366
    month_of_day = np.array([d.month for d in dates.astype(object)])
    volume = aggregate_time(np.moveaxis(rr, 0, -1), dates, "daily", "monthly", "sum")
    frequency = aggregate_time(np.moveaxis(rr, 0, -1), dates, "daily", "monthly", "wet_day_count",
                               wet_day_threshold=1.0)
    assert list(volume.dates.astype(str)) == [f"2000-{m:02d}-01" for m in range(1, 13)]
    assert volume.dropped.size == 0
    sea = np.isnan(rr).all(axis=0)
    for month in range(1, 13):
        days = rr[month_of_day == month]
        expected_sum = days.sum(axis=0)  # NaN over the sea, where E-OBS has no value
        expected_wet = np.where(sea, np.nan, (days >= 1.0).sum(axis=0))
        np.testing.assert_allclose(volume.values[..., month - 1], expected_sum, rtol=1e-5,
                                   equal_nan=True)
        np.testing.assert_array_equal(frequency.values[..., month - 1], expected_wet)
    assert np.nanmax(frequency.values) <= 31 and np.nanmax(volume.values) > 100


@needs_real
def test_eobs_seasons_of_one_year_drop_the_djf_seasons_at_both_ends():
    rr, dates, _ = read_netcdf(EOBS, "rr")
    result = aggregate_time(np.moveaxis(rr, 0, -1), dates, "daily", "seasonal", "sum")
    assert list(result.dates.astype(str)) == ["2000-03-01", "2000-06-01", "2000-09-01"]
    assert list(result.dropped.astype(str)) == ["1999-12-01", "2000-12-01"]
    month_of_day = np.array([d.month for d in dates.astype(object)])
    jja = rr[np.isin(month_of_day, [6, 7, 8])].sum(axis=0)
    np.testing.assert_allclose(result.values[..., 1], jja, rtol=1e-5, equal_nan=True)


@needs_real
def test_cru_monthly_pr_with_mid_month_stamps_to_annual_and_djf_sums():
    pr, dates, _ = read_netcdf(CRU, "pr")  # stamps are mid-month: 1981-01-16, 1981-02-15, …
    assert str(dates[0]) == "1981-01-16"
    years = aggregate_time(np.moveaxis(pr, 0, -1), dates, "monthly", "annual", "sum")
    assert years.dates.size == 30 and str(years.dates[-1]) == "2010-01-01"
    np.testing.assert_allclose(years.values[..., 5], pr[60:72].sum(axis=0), rtol=1e-5,
                               equal_nan=True)  # 1986
    seasons = aggregate_time(np.moveaxis(pr, 0, -1), dates, "monthly", "seasonal", "sum")
    assert str(seasons.dates[0]) == "1981-03-01"
    assert list(seasons.dropped.astype(str)) == ["1980-12-01", "2010-12-01"]
    djf_1990 = int(np.flatnonzero(seasons.dates == np.datetime64("1990-12-01"))[0])
    np.testing.assert_allclose(seasons.values[..., djf_1990], pr[119:122].sum(axis=0), rtol=1e-5,
                               equal_nan=True)  # Dec 1990 (index 119), Jan and Feb 1991


@needs_real
def test_cru_pr_aligned_from_half_degree_to_quarter_degree():
    pr, dates, grid = read_netcdf(CRU, "pr")
    pr = pr[:24]  # two years keep the test fast
    west, north = grid.transform.c, grid.transform.f
    fine = Grid(WGS84, from_origin(west, north, 0.25, 0.25), grid.width * 2, grid.height * 2)
    # splitting each 0.5° cell in four: average and nearest give the parent's value exactly
    parents = np.repeat(np.repeat(pr, 2, axis=1), 2, axis=2)
    for method in ("average", "nearest"):
        aligned = align_to_grid(pr, grid, fine, method)
        assert aligned.shape == (24, fine.height, fine.width)
        np.testing.assert_allclose(aligned, parents, rtol=1e-6, equal_nan=True)
    # bilinear changes cell values but keeps the regional mean within 1 % each month
    smooth = align_to_grid(pr, grid, fine, "bilinear")
    assert smooth.shape[0] == 24
    regional = np.nanmean(pr, axis=(1, 2))
    assert np.all(np.abs(np.nanmean(smooth, axis=(1, 2)) / regional - 1) < 0.01)
    assert not np.allclose(smooth, parents, equal_nan=True)


@needs_real
def test_eobs_coarsened_by_average_is_the_mean_of_the_valid_quarter_degree_cells():
    rr, _, grid = read_netcdf(EOBS, "rr")
    rr = rr[:10]
    # 0.5° target from the source's west edge; its north edge is one 0.25° row below the source's
    coarse = Grid(WGS84, from_origin(grid.transform.c, grid.transform.f - 0.25, 0.5, 0.5), 30, 16)
    aligned = align_to_grid(rr, grid, coarse, "average")
    blocks = rr[:, 1:33, :60].reshape(10, 16, 2, 30, 2)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmean(blocks, axis=(2, 4))  # all-sea blocks warn and stay NaN
    np.testing.assert_allclose(aligned, expected, rtol=1e-5, atol=1e-5, equal_nan=True)


def test_mode_resampling_keeps_the_majority_class():
    rng = np.random.default_rng(3)
    classes = rng.integers(1, 15, size=(6, 8)).astype(np.float32)
    fine = np.repeat(np.repeat(classes, 2, axis=0), 2, axis=1)
    fine[::2, ::2] = 99.0  # one odd cell in every 2×2 block; three cells keep the class
    src = Grid(WGS84, from_origin(0.0, 10.0, 0.25, 0.25), 16, 12)
    dst = Grid(WGS84, from_origin(0.0, 10.0, 0.5, 0.5), 8, 6)
    np.testing.assert_array_equal(align_to_grid(fine, src, dst, "mode"), classes)


def test_align_refuses_an_unknown_method_and_a_stack_off_its_grid():
    grid = Grid(WGS84, from_origin(0.0, 10.0, 1.0, 1.0), 4, 3)
    with pytest.raises(InputError, match="resampling 'cubic'"):
        align_to_grid(np.zeros((1, 3, 4)), grid, grid, "cubic")
    with pytest.raises(InputError, match="does not fit its grid of 3 rows × 4 columns"):
        align_to_grid(np.zeros((1, 4, 3)), grid, grid, "nearest")
