"""The report's Bayesian section against the tables it comes from: the three panels of figures 7
and 8 plot each run's posterior means (point by point, coloured by term), its least-squares line
and its k-means circles; the quadrant table lists exactly the ecoregions whose signs put a term in
quadrant II or IV; the convergence table counts the rows with R-hat < 1.05."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Circle

matplotlib.use("Agg")

from test_report import parse  # noqa: E402 - tests/engine is on the path

from soilp_qgis.report import make_report  # noqa: E402
from soilp_qgis.report.sections.bayes import read_runs, scale_panels  # noqa: E402

LAYERS = ("layer1", "layer2", "layer3")
LAYER_TITLES = ("Layer 1 (0–7 cm)", "Layer 2 (7–28 cm)", "Layer 3 (28–100 cm)")
TERMS = ("Ta", "GPP", "LST", "Ta:GPP", "Ta:LST", "GPP:LST", "Ta:GPP:LST")
ECOREGIONS = {6: "6 Boreal Forests/Taiga", 11: "11 Tundra", 13: "13 Deserts and Xeric Shrublands",
              10: "10 Montane Grasslands and Shrublands"}
#: the run whose ecoregion 11 did not converge (one R-hat of 1.08, 3 divergences)
UNCONVERGED = ("layer2", "annual", 11)


def planted_table(layer: str, scale: str) -> pd.DataFrame:
    """A coefficient table as the drivers step writes it, with seeded posterior means."""
    rng = np.random.default_rng(zlib.crc32(f"{layer} {scale}".encode()))
    rows = []
    for code, name in ECOREGIONS.items():
        bad = (layer, scale, code) == UNCONVERGED
        for term in ("Intercept", *TERMS):
            for response in ("P", "SM"):
                rhat = 1.08 if bad and term == "GPP" and response == "SM" else 1.001
                rows.append({"ecoregion": code, "parameter": "intercept" if term == "Intercept"
                             else "coefficient", "term": term, "response": response,
                             "mean": round(float(rng.normal(0.0, 0.5)), 6), "sd": 0.1,
                             "q2.5": -1.0, "q97.5": 1.0, "rhat": rhat,
                             "ess_bulk": 900.0 if not bad else 40.0, "ess_tail": 800.0,
                             "divergences": 3 if bad else 0, "tree_depth_hits": 0,
                             "converged": not bad, "ecoregion_name": name})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bayes_report")
    (out / "bayes" / "provenance").mkdir(parents=True)
    for layer in LAYERS:
        for scale in ("monthly", "annual"):
            name = f"{layer}_{scale}_table.csv"
            planted_table(layer, scale).to_csv(out / "bayes" / name, index=False)
            record = {"step": "bayesian_drivers", "parameters": {
                "N_CLUSTERS": 3, "SEED": 0, "CHAINS": 4, "TUNE": 2000, "DRAWS": 2000,
                "MAX_TREEDEPTH": 10, "DATA": "cells", "MAX_CELLS": 10,
                "MASS_MATRIX": "low_rank"}}
            (out / "bayes" / "provenance" / f"{name}.json").write_text(json.dumps(record))
    return out


def table_points(folder: Path, layer: str, scale: str) -> pd.DataFrame:
    """(ecoregion, term) → posterior means of P and SM, straight from the CSV."""
    table = pd.read_csv(folder / "bayes" / f"{layer}_{scale}_table.csv")
    table = table[table["parameter"] == "coefficient"]
    return table.pivot_table(index=["ecoregion", "term"], columns="response", values="mean")


@pytest.mark.parametrize("scale", ["monthly", "annual"])
def test_figure_panels_plot_each_layers_table(folder, scale):
    from soilp_qgis.bayes.report import TERM_COLOURS, driver_panels_figure

    figure = driver_panels_figure(scale_panels(read_runs(folder), scale))
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == list(LAYER_TITLES)
    for ax, layer in zip(axes, LAYERS):
        expected = table_points(folder, layer, scale)
        plotted = {}
        for collection in ax.collections:
            if isinstance(collection, PathCollection):
                term = collection.get_label()
                assert np.allclose(collection.get_facecolor()[0][:3], TERM_COLOURS[term])
                plotted[term] = {tuple(np.round(xy, 6)) for xy in collection.get_offsets()}
        assert set(plotted) == set(TERMS)
        for term in TERMS:
            rows = expected.xs(term, level="term")
            assert plotted[term] == {(round(p, 6), round(sm, 6))
                                     for p, sm in zip(rows["P"], rows["SM"])}, (layer, term)
        # the red least-squares line is numpy's fit of all the table's points
        slope, intercept = np.polyfit(expected["P"], expected["SM"], 1)
        (line,) = [line for line in ax.get_lines() if line.get_color() == "red"]
        x, y = line.get_data()
        assert np.allclose(y, slope * np.asarray(x) + intercept)
        assert np.isclose(min(x), expected["P"].min()) and np.isclose(max(x), expected["P"].max())
        # three k-means circles, every point inside one of them
        circles = [patch for patch in ax.patches if isinstance(patch, Circle)]
        assert len(circles) == 3
        points = expected[["P", "SM"]].to_numpy()
        inside = np.array([[np.hypot(*(xy - np.array(c.center))) <= c.radius for c in circles]
                           for xy in points])
        assert inside.any(axis=1).all()
        assert sorted(t.get_text() for t in ax.texts) == ["I", "II", "III", "IV"]
    matplotlib.pyplot.close(figure)


@pytest.fixture(scope="module")
def page(folder):
    result = make_report(folder, folder / "report.html")
    assert result.sections["bayesian-drivers"] == "made"
    return parse(result.html)   # the report tests' page parser: tables by id, image sources


def expected_quadrants(folder: Path, scale: str) -> dict[tuple[str, str], dict[str, set]]:
    """(layer title, term) → {"II": ecoregion labels, "IV": …}, from the signs in the tables."""
    expected: dict[tuple[str, str], dict[str, set]] = {}
    for layer, title in zip(LAYERS, LAYER_TITLES):
        for (code, term), row in table_points(folder, layer, scale).iterrows():
            name = {(True, False): "IV", (False, True): "II"}.get((row["P"] > 0, row["SM"] > 0))
            if name:
                label = ECOREGIONS[code] + ("*" if (layer, scale, code) == UNCONVERGED else "")
                expected.setdefault((title, term), {"II": set(), "IV": set()})[name].add(label)
    return expected


@pytest.mark.parametrize("scale", ["monthly", "annual"])
def test_quadrant_table_lists_the_negative_drivers_of_the_tables(folder, page, scale):
    rows = page.tables[f"bayes-{scale}-negative"]
    assert rows[0] == ["layer", "term", "quadrant II (P −, SM +)", "quadrant IV (P +, SM −)"]
    shown = {(layer, term): {"II": set() if ii == "–" else set(ii.split("; ")),
                             "IV": set() if iv == "–" else set(iv.split("; "))}
             for layer, term, ii, iv in rows[1:]}
    assert shown == expected_quadrants(folder, scale)
    assert f"report_bayes_{scale}.png" in page.images


def test_convergence_table_counts_the_rows_of_every_run(folder, page):
    rows = page.tables["bayes-convergence"]
    assert len(rows) == 1 + 6
    for row in rows[1:]:
        layer = LAYERS[LAYER_TITLES.index(row[0])]
        table = pd.read_csv(folder / "bayes" / f"{layer}_{row[1]}_table.csv")
        good = int((table["rhat"] < 1.05).sum())
        assert row[5].startswith(f"{good:,} of {len(table):,} ")
        assert row[3] == str(table["ecoregion"].nunique())
        unconverged = (layer, row[1]) == UNCONVERGED[:2]
        assert row[4] == str(len(ECOREGIONS) - unconverged)
        assert row[6] == f"{table['rhat'].max():.3f}"
        assert row[8] == ("3" if unconverged else "0")
        assert row[2] == ("4 × (2000 + 2000), depth 10, cells (≤ 10 cells, centred), "
                          "low-rank mass matrix")


def test_runs_that_are_not_there_are_named(tmp_path):
    (tmp_path / "bayes").mkdir()
    planted_table("layer3", "annual").to_csv(tmp_path / "bayes" / "layer3_annual_table.csv",
                                             index=False)
    result = make_report(tmp_path, tmp_path / "report.html")
    page = result.html.read_text(encoding="utf-8")
    assert result.sections["bayesian-drivers"] == "made"
    assert ("No Bayesian driver table for Layer 1 (0–7 cm) monthly, Layer 2 (7–28 cm) monthly, "
            "Layer 3 (28–100 cm) monthly, Layer 1 (0–7 cm) annual, Layer 2 (7–28 cm) annual."
            in page)
    assert "report_bayes_annual.png" in page and "report_bayes_monthly.png" not in page
