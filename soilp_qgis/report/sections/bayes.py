"""The report's Bayesian section: the paper's figures 7 (monthly) and 8 (annual), one panel per soil
layer, the section-3.3 table of which terms drive a negative dependence in which ecoregions, and
the convergence of all six runs (3 layers × 2 scales), each read from the run's own table
(``bayes/<layer>_<scale>_table.csv``), ecoregion layer and provenance record."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .. import html as h
from ..figures import PNG_OPTIONS
from ..layout import LAYERS, SCALES, bayes_file
from .common import Context

#: the paper's figure of each scale
FIGURE_NUMBERS = {"monthly": 7, "annual": 8}


@dataclass
class DriverRun:
    """One Bayesian drivers run of the full analysis, as its files give it."""

    layer: str
    scale: str
    table: pd.DataFrame           # the coefficient table (OUTPUT_TABLE)
    drivers: Any                  # bayes.quadrants.DriverPoints, or None without coefficients
    parameters: dict[str, Any]    # the run's parameters from its provenance record ({} if none)
    ecoregions: pd.DataFrame | None  # the ecoregion layer's attributes (OUTPUT_LAYER)

    @cached_property
    def names(self) -> dict[Any, str]:
        """Ecoregion code → its label (``4 Temperate Broadleaf and Mixed Forests``), built from
        the whole table once per run."""
        if "ecoregion_name" not in self.table:
            return {code: str(code) for code in self.table["ecoregion"]}
        return dict(zip(self.table["ecoregion"], self.table["ecoregion_name"].astype(str)))


def run_parameters(table_csv: Path) -> dict[str, Any]:
    """The parameters of the run that wrote ``table_csv``, from its provenance record."""
    record = table_csv.parent / "provenance" / f"{table_csv.name}.json"
    try:
        return dict(json.loads(record.read_text(encoding="utf-8")).get("parameters", {}))
    except (OSError, ValueError):
        return {}


def read_ecoregion_attributes(path: Path) -> pd.DataFrame | None:
    """The attributes (no geometry) of a run's ecoregion layer, or None when it is absent."""
    if not path.is_file():
        return None
    import pyogrio

    return pyogrio.read_dataframe(path, read_geometry=False)


def read_run(folder: Path, layer: str, scale: str) -> DriverRun | None:
    """The run of ``layer`` and ``scale`` in ``folder``, or None when its table is absent. The
    driver points are those of the run's figure: the table's posterior means, k-means with the
    run's N_CLUSTERS and SEED."""
    from ...bayes.quadrants import driver_points

    table_csv = bayes_file(folder, layer, scale, "table.csv")
    if not table_csv.is_file():
        return None
    table = pd.read_csv(table_csv)
    if "converged" in table:
        table["converged"] = table["converged"].astype(str).str.lower() == "true"
    parameters = run_parameters(table_csv)
    coefficients = table[table["parameter"] == "coefficient"] if len(table) else table
    drivers = None
    if len(coefficients):
        drivers = driver_points(table, int(parameters.get("N_CLUSTERS", 3)),
                                seed=int(parameters.get("SEED", 0)))
    return DriverRun(layer, scale, table, drivers, parameters,
                     read_ecoregion_attributes(bayes_file(folder, layer, scale,
                                                          "ecoregions.gpkg")))


def read_runs(folder: Path) -> dict[tuple[str, str], DriverRun]:
    """Every run found, by (layer, scale), in the layout's order."""
    runs = {}
    for scale in SCALES:
        for layer in LAYERS:
            run = read_run(folder, layer, scale)
            if run is not None:
                runs[(layer, scale)] = run
    return runs


def scale_panels(runs: dict[tuple[str, str], DriverRun], scale: str) -> list[tuple[str, Any]]:
    """The three panels of one scale's figure: (layer label, its driver points or None)."""
    return [(LAYERS[layer], runs[(layer, scale)].drivers if (layer, scale) in runs else None)
            for layer in LAYERS]


def _ecoregion_list(names: tuple, not_converged: tuple) -> h.Html:
    """Ecoregions, those that did not converge marked with an asterisk."""
    return h.text("; ".join(f"{name}*" if name in not_converged else name for name in names))


def quadrant_rows(runs: dict[tuple[str, str], DriverRun], scale: str) -> list[list[object]]:
    """The section-3.3 table of one scale: per layer and term, the ecoregions where the term
    drives a negative dependence, in quadrant II (P −, SM +) and in quadrant IV (P +, SM −)."""
    from ...bayes.quadrants import negative_drivers

    rows: list[list[object]] = []
    for layer in LAYERS:
        run = runs.get((layer, scale))
        if run is None or run.drivers is None:
            continue
        points = run.drivers.points.assign(
            name=[run.names.get(code, str(code)) for code in run.drivers.points["ecoregion"]])
        found = negative_drivers(points, label="name")
        for term, group in found.groupby("term", sort=False):
            by_quadrant = {row.quadrant: row for row in group.itertuples(index=False)}
            cells: list[object] = [LAYERS[layer], term]
            for name in ("II", "IV"):
                row = by_quadrant.get(name)
                cells.append(_ecoregion_list(row.ecoregions, row.not_converged) if row else "–")
            rows.append(cells)
    return rows


def _number(value: float, digits: int) -> str:
    return "–" if not math.isfinite(value) else f"{value:,.{digits}f}"


def _settings_text(parameters: dict[str, Any]) -> str:
    if not parameters:
        return "–"
    text = (f"{parameters.get('CHAINS', '?')} × ({parameters.get('TUNE', '?')} + "
            f"{parameters.get('DRAWS', '?')}), depth {parameters.get('MAX_TREEDEPTH', '?')}, "
            f"{parameters.get('DATA', '?')}")
    if parameters.get("DATA") == "cells":
        text += (f" (≤ {parameters.get('MAX_CELLS', '?')} cells, "
                 f"{parameters.get('RANDOM_INTERCEPTS', 'centred')})")
    if parameters.get("MASS_MATRIX"):
        text += f", {str(parameters['MASS_MATRIX']).replace('_', '-')} mass matrix"
    return text


def convergence(runs: dict[tuple[str, str], DriverRun]) -> tuple[list[list[object]], dict]:
    """One row per run (layer, scale): settings, ecoregions fitted and converged, rows with
    R-hat < 1.05, largest R-hat, smallest bulk ESS, divergences and tree-depth hits; and the
    totals over all runs (``rows``, ``rows_converged``, ``flagged``: (run, ecoregion, reason))."""
    from ...bayes.summary import run_convergence

    rows: list[list[object]] = []
    totals: dict[str, Any] = {"rows": 0, "rows_converged": 0, "flagged": [], "skipped": []}
    for (layer, scale), run in runs.items():
        table = run.table.assign(ecoregion_label=[run.names.get(c, str(c))
                                                  for c in run.table["ecoregion"]])
        summary = run_convergence(table, label="ecoregion_label") if len(table) else None
        where = f"{LAYERS[layer]}, {scale}"
        skipped = []
        if run.ecoregions is not None and "status" in run.ecoregions:
            left_out = run.ecoregions[~run.ecoregions["status"].isin(["fitted", "not in grid"])]
            skipped = [(str(row.get("ecoregion_name", row["ecoregion"])), str(row["status"]),
                        str(row.get("reason", "") or "")) for _, row in left_out.iterrows()]
        totals["skipped"] += [(where, *entry) for entry in skipped]
        if summary is None:
            rows.append([LAYERS[layer], scale, _settings_text(run.parameters), 0, 0,
                         "–", "–", "–", "–", "–"])
            continue
        totals["rows"] += summary["rows"]
        totals["rows_converged"] += summary["rows_converged"]
        totals["flagged"] += [(where, name, reason) for name, reason in summary["flagged"]]
        share = summary["rows_converged"] / summary["rows"] if summary["rows"] else math.nan
        rows.append([LAYERS[layer], scale, _settings_text(run.parameters),
                     summary["ecoregions"], summary["converged"],
                     f"{summary['rows_converged']:,} of {summary['rows']:,} "
                     f"({_number(100 * share, 1)} %)",
                     _number(summary["max_rhat"], 3), _number(summary["min_ess_bulk"], 0),
                     f"{summary['divergences']:,}", f"{summary['tree_depth_hits']:,}"])
    return rows, totals


CONVERGENCE_HEADERS = ["layer", "scale", "sampler (chains × (warm-up + draws)), data",
                       "ecoregions fitted", "converged", "rows with R-hat < 1.05",
                       "max R-hat", "min bulk ESS", "divergences", "tree-depth hits"]


def bayesian_drivers(ctx: Context) -> h.Html:
    """Figures 7–8 (three panels each), the negative-dependence drivers per layer and scale, and
    the convergence of all six runs."""
    from ...bayes.report import driver_panels_figure

    runs = read_runs(ctx.folder)
    if not runs:
        return h.missing("No Bayesian driver results in this folder "
                         "(bayes/<layer>_<scale>_table.csv).")
    parts = []
    absent = [f"{LAYERS[layer]} {scale}" for scale in SCALES for layer in LAYERS
              if (layer, scale) not in runs]
    if absent:
        parts.append(h.missing("No Bayesian driver table for " + ", ".join(absent) + "."))
    for scale in SCALES:
        if not any(key[1] == scale for key in runs):
            continue
        number_ = FIGURE_NUMBERS.get(scale)
        parts.append(h.tag("h3", f"{scale.capitalize()} scale"))
        figure = driver_panels_figure(scale_panels(runs, scale))
        path = ctx.figure_path(f"bayes_{scale}")
        figure.savefig(path, bbox_inches="tight", pil_kwargs=dict(PNG_OPTIONS))
        import matplotlib.pyplot as plt

        plt.close(figure)
        parts.append(h.figure(ctx.link(path), (
            (f"Figure {number_} (as the paper's): " if number_ else "")
            + "posterior estimates per ecoregion and term, for precipitation (x) and soil "
            "moisture (y), one panel per soil layer; quadrants II and IV mark drivers of "
            "negative dependence; dashed circles: k-means clusters; red: the least-squares "
            "line across all points.")))
        rows = quadrant_rows(runs, scale)
        if rows:
            parts.append(h.table(
                ["layer", "term", "quadrant II (P −, SM +)", "quadrant IV (P +, SM −)"], rows,
                caption=f"Drivers of negative dependence, {scale} (as the paper's section 3.3; "
                        "* did not converge)", id_=f"bayes-{scale}-negative"))
        else:
            parts.append(h.paragraph(f"No term drives a negative dependence at the {scale} "
                                     "scale in any ecoregion."))
    rows, totals = convergence(runs)
    parts.append(h.tag("h3", "Convergence"))
    parts.append(h.table(CONVERGENCE_HEADERS, rows, numeric=[False] * 3 + [True] * 7,
                         caption="Convergence of every run; an ecoregion converged when all "
                                 "its R-hat < 1.05 (the paper's criterion) and it had no "
                                 "divergent transitions",
                         id_="bayes-convergence"))
    if totals["rows"]:
        share = totals["rows_converged"] / totals["rows"]
        parts.append(h.paragraph(
            f"{totals['rows_converged']:,} of {totals['rows']:,} estimated rows "
            f"({100 * share:.1f} %) over {len(runs)} runs have R-hat < 1.05.",
            class_="check" if share >= 0.95 else None))
    if totals["flagged"]:
        parts.append(h.paragraph(f"{len(totals['flagged'])} fit(s) flagged (their estimates stay "
                                 "in the tables and figures, converged = False):"))
        parts.append(h.tag("ul", h.join(h.tag("li", f"{where}, {name}: {reason}")
                                        for where, name, reason in totals["flagged"])))
    else:
        parts.append(h.paragraph("Every fitted ecoregion converged.", class_="check"))
    if totals["skipped"]:
        parts.append(h.paragraph("Ecoregions not fitted:"))
        parts.append(h.tag("ul", h.join(
            h.tag("li", f"{where}, {name} ({status})" + (f": {reason}" if reason else ""))
            for where, name, status, reason in totals["skipped"])))
    links = [h.tag("a", bayes_file(ctx.folder, layer, scale, "report.html").name,
                   href=ctx.link(bayes_file(ctx.folder, layer, scale, "report.html")))
             for layer, scale in runs
             if bayes_file(ctx.folder, layer, scale, "report.html").is_file()]
    if links:
        separated: list[object] = []
        for link in links:
            separated += [h.text(", "), link] if separated else [link]
        parts.append(h.paragraph(h.join(["Each run's own report (diagnostics per ecoregion, "
                                         "all estimates): ", *separated])))
    return h.join(parts)
