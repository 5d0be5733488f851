"""The report's significance section on hand-made outputs: its numbers are the tables' and
rasters', its sentences say them plainly, and the run's settings come from its provenance."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from soilp_qgis.report import make_report
from soilp_qgis.report.provenance import write_step_provenance
from soilp_qgis.significance import SIGNIFICANCE_NODATA
from soilp_qgis.timestack import Grid, write_raster

sys.path.insert(0, str(Path(__file__).parent))
from test_report import parse  # noqa: E402

COLUMNS = ["ecoregion", "valid_cells", "negative_share", "negative_share_fdr",
           "negative_share_ci_low", "negative_share_ci_high", "mean_tau"]


def write_table(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def test_section_shows_naive_fdr_and_interval_beside_the_paper(tmp_path):
    folder = tmp_path / "out"
    table = folder / "copula" / "layer1_monthly_table.csv"
    write_table(table, [["6 Boreal Forests/Taiga", 400, 0.3, 0.1, 0.25, 0.36, 0.05],
                        ["all", 3000, 0.112, 0.021, 0.098, 0.127, 0.3]])
    write_table(folder / "copula" / "layer2_annual_table.csv",
                [["all", 3000, 0.011, 0.0, "", "", 0.2]])
    write_table(folder / "copula" / "layer3_annual_table.csv",  # interval above the share
                [["all", 3000, 0.066, 0.02, 0.068, 0.11, 0.2]])
    write_step_provenance(folder / "copula" / "provenance" / "layer1_monthly_tau.tif.json",
                          "copula_dependence",
                          {"ALPHA": 0.05, "BOOTSTRAP_REPLICATES": 500, "BLOCK_LENGTH": 0,
                           "SEED": 0}, {}, {"OUTPUT_TABLE": str(table)}, "2026-01-01T00:00:00",
                          "2026-01-01T00:01:00")
    grid = Grid.regular(0.0, 10.0, 1.0, 5, 2)
    significance = np.array([[-1, 0, 0, 1, 1], [0, 0, SIGNIFICANCE_NODATA, 0, -1]])
    write_raster(folder / "lag" / "layer1_significance.tif", significance, grid, "int8",
                 SIGNIFICANCE_NODATA)
    stability = np.array([[1.0, 0.5, 0.95, 0.2, 1.0], [0.3, 0.9, np.nan, 0.1, 0.6]])
    write_raster(folder / "lag" / "layer1_lag_stability.tif", stability, grid, "float32",
                 -9999.0)

    page = parse(make_report(folder, tmp_path / "report.html").html)
    rows = page.tables["significance-table"]
    assert rows[0][3:] == ["τ < 0 (as the paper)", "significantly negative",
                           "95 % interval of τ < 0", "paper: τ < 0"]
    assert rows[1] == ["Layer 1 (0–7 cm)", "monthly", "3,000", "11.2 %", "2.1 %", "9.8 % – 12.7 %",
                       "19.2 %"]
    assert rows[2] == ["Layer 2 (7–28 cm)", "annual", "3,000", "1.1 %", "0.0 %", "–", "4.0 %"]
    reading = page.by_id["significance-reading"]
    assert ("Layer 1 (0–7 cm), monthly: of the 11.2 % of cells with τ < 0 (95 % interval "
            "9.8 % – 12.7 %), 2.1 % are significantly negative at 5.0 % — about 19 % of them."
            ) in reading
    assert "Layer 2 (7–28 cm), annual: of the 1.1 % of cells with τ < 0, 0.0 % are significantly " \
           "negative at 5.0 % — none of them." in reading
    # a table of an earlier version, whose interval missed the share, is named
    warning = [text for _, text in page.paragraphs if "does not contain" in text]
    assert len(warning) == 1 and "for Layer 3 (28–100 cm), annual:" in warning[0]
    assert "earlier soilp" in warning[0]
    reading_note = [text for _, text in page.paragraphs if "How to read it" in text][0]
    assert "always contains the share" in reading_note
    settings = [text for _, text in page.paragraphs if "Settings:" in text][0]
    assert "α = 5.0 % (Benjamini–Hochberg at a false discovery rate of 10.0 %" in settings
    assert "500 moving-block bootstrap replicates" in settings
    by_ecoregion = page.tables["significance-by-ecoregion"]
    assert by_ecoregion[1] == ["6 Boreal Forests/Taiga", "30.0 % [25.0 % – 36.0 %]; 10.0 %",
                               "–", "–"]
    # lag: 9 computed cells, 2 negative, 2 positive; stability median of 9 values is 0.6,
    # 4 of 9 at or above 0.9
    lag = page.tables["lag-significance-table"]
    assert lag[1] == ["Layer 1 (0–7 cm)", "9", "22.2 %", "22.2 %", "60.0 %", "44.4 %"]


def test_section_without_significance_results_says_so(tmp_path):
    folder = tmp_path / "out"
    (folder / "copula").mkdir(parents=True)
    (folder / "copula" / "layer1_monthly_table.csv").write_text(
        "ecoregion,valid_cells,negative_share\nall,10,0.1\n", encoding="utf-8")
    html = make_report(folder, tmp_path / "report.html").html.read_text(encoding="utf-8")
    section = html[html.index('id="significance"'):]
    assert "No significance results in this folder" in section[:600]
    assert json.dumps  # the page is written even so
