"""soilp:copuladependence through Processing on planted copulas written with GDAL."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from conftest import ROOT, monthly_dates, read_with_gdal, write_stack_with_gdal
from osgeo import gdal
from qgis.core import QgsRasterLayer

RHO = np.array([[0.7, 0.7, -0.6], [0.5, -0.6, 0.0]])   # planted Gaussian correlation per cell


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Gaussian copulas with gamma precipitation margins; (0, 2) constant, (1, 2) mostly missing."""
    folder = tmp_path_factory.mktemp("copula")
    rng = np.random.default_rng(11)
    dates = monthly_dates(2000, 20)
    n = len(dates)
    precipitation = np.empty((n, 2, 3))
    soil_moisture = np.empty((n, 2, 3))
    for (row, col), rho in np.ndenumerate(RHO):
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
        precipitation[:, row, col] = np.exp(1.0 + 0.8 * z[:, 0])       # lognormal volume
        soil_moisture[:, row, col] = 0.25 + 0.04 * z[:, 1]
    soil_moisture[:, 0, 2] = 0.3                                       # constant series
    precipitation[10:, 1, 2] = np.nan                                  # 10 valid steps only
    codes = np.array([[4, 4, 13], [4, 13, 13]], dtype=float)
    ecoregions = folder / "ecoregions.tif"
    write_stack_with_gdal(ecoregions, codes[None], ["2000-01-01"])
    return (write_stack_with_gdal(folder / "p.tif", precipitation, dates),
            write_stack_with_gdal(folder / "sm.tif", soil_moisture, dates), ecoregions, folder)


def test_planted_dependence_and_status_codes(soilp_provider, planted):
    import processing

    precipitation, soil_moisture, ecoregions, folder = planted
    outputs = {name: str(folder / f"{name.lower()}.tif") for name in (
        "OUTPUT_TAU", "OUTPUT_LOWER_TAIL", "OUTPUT_UPPER_TAIL", "OUTPUT_FAMILY",
        "OUTPUT_PARAMETERS", "OUTPUT_STATUS", "OUTPUT_EMPIRICAL_TAU")}
    result = processing.run("soilp:copuladependence", {
        "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(soil_moisture),
        "ECOREGIONS_RASTER": str(ecoregions), "PROCESSES": 1,
        "OUTPUT_TABLE": str(folder / "table.csv"), **outputs})
    tau = read_with_gdal(result["OUTPUT_TAU"])
    status = read_with_gdal(result["OUTPUT_STATUS"])
    assert status[0, 2] == 3 and status[1, 2] == 2                 # constant, too few values
    assert np.isnan(tau[0, 2]) and np.isnan(tau[1, 2])
    assert np.isnan(read_with_gdal(result["OUTPUT_FAMILY"])[1, 2])  # nodata (-1)
    fitted = status == 0
    expected = 2 / math.pi * np.arcsin(RHO)                         # Gaussian copula's τ
    # 240 pairs: the sampling sd of τ is about 0.04
    assert np.all(np.abs(tau[fitted] - expected[fitted]) < 0.12)
    assert np.all(np.sign(tau[fitted]) == np.sign(RHO[fitted]))
    empirical = read_with_gdal(result["OUTPUT_EMPIRICAL_TAU"])
    assert np.all(np.abs(tau[fitted] - empirical[fitted]) < 0.08)
    lower = read_with_gdal(result["OUTPUT_LOWER_TAIL"])
    assert np.all((lower[fitted] >= 0) & (lower[fitted] <= 1))
    assert result["VALID_CELLS"] == 4
    assert result["NEGATIVE_SHARE"] == pytest.approx(1 / 4)

    with open(result["OUTPUT_TABLE"], newline="") as handle:
        rows = {row["ecoregion"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"4 Temperate Broadleaf and Mixed Forests",
                         "13 Deserts and Xeric Shrublands", "all"}
    desert = rows["13 Deserts and Xeric Shrublands"]
    assert int(desert["valid_cells"]) == 1 and float(desert["negative_share"]) == 1.0
    assert float(rows["all"]["mean_tau"]) == pytest.approx(tau[fitted].mean(), abs=1e-5)
    # par and par2; par2 is nodata for the families with fewer than two parameters (VineCopula's
    # count, from the family table), present for the others (t: ν; BB: δ; Tawn: its second)
    parameters = gdal.Open(result["OUTPUT_PARAMETERS"])
    assert parameters.RasterCount == 2
    family = read_with_gdal(result["OUTPUT_FAMILY"])
    par2 = parameters.GetRasterBand(2).ReadAsArray().astype(float)
    par2[par2 == parameters.GetRasterBand(2).GetNoDataValue()] = np.nan
    families = json.loads((ROOT / "resources" / "copula_families.json").read_text())["families"]
    one_parameter = fitted & np.isin(family, [f["code"] for f in families
                                              if f["parameters"] < 2])
    assert np.isnan(par2[one_parameter]).all()
    assert np.isfinite(par2[fitted & ~one_parameter]).all()


def test_family_and_status_open_named(soilp_provider, planted):
    _, _, _, folder = planted
    family = QgsRasterLayer(str(folder / "output_family.tif"), "family")
    family.loadDefaultStyle()
    labels = {c.value: c.label for c in family.renderer().classes()}
    assert labels[1] == "1 Gaussian" and len(labels) == 40
    status = QgsRasterLayer(str(folder / "output_status.tif"), "status")
    status.loadDefaultStyle()
    assert {c.value: c.label for c in status.renderer().classes()}[3].startswith("Constant")


def test_the_primary_output_alone(soilp_provider, planted, tmp_path):
    """Only OUTPUT_TAU asked for: τ is written (the same as with every output), the secondary
    outputs are not, and the results say so."""
    import processing

    precipitation, soil_moisture, _, folder = planted
    result = processing.run("soilp:copuladependence", {
        "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(soil_moisture),
        "PROCESSES": 1, "OUTPUT_TAU": str(tmp_path / "tau.tif")})
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["tau.qml", "tau.tif"]
    assert [p.name for p in (tmp_path / "provenance").iterdir()] == ["tau.tif.json"]
    full = processing.run("soilp:copuladependence", {
        "PRECIPITATION": str(precipitation), "SOIL_MOISTURE": str(soil_moisture),
        "PROCESSES": 1, "OUTPUT_TAU": str(folder / "full_tau.tif"),
        "OUTPUT_STATUS": str(folder / "full_status.tif"),
        "OUTPUT_TABLE": str(folder / "full_table.csv")})
    np.testing.assert_array_equal(read_with_gdal(result["OUTPUT_TAU"]),
                                  read_with_gdal(full["OUTPUT_TAU"]))
    for name in ("OUTPUT_LOWER_TAIL", "OUTPUT_FAMILY", "OUTPUT_STATUS", "OUTPUT_TABLE"):
        assert not result.get(name), name
