"""Figures 7 and 8 of the paper: the Bayesian drivers per ecoregion, with convergence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import html as h
from ..layout import SCALES, bayes_file
from .common import Context, ecoregion_sort_key, number, read_csv

CONVERGED_RHAT = 1.05


def _column(columns: Sequence[str], *names: str) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _truthy(value: Any) -> bool | None:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "1.0"):
        return True
    if text in ("false", "0", "no", "0.0"):
        return False
    return None


def _finite_values(rows: list[dict[str, str]], column: str) -> np.ndarray:
    found = np.array([number(row.get(column)) for row in rows])
    return found[np.isfinite(found)]


def convergence_rows(rows: list[dict[str, str]]) -> tuple[list[str], list[list[Any]]]:
    """Per ecoregion: largest R-hat, smallest bulk and tail ESS, divergences, tree-depth hits and
    whether it converged (its ``converged`` column where given, else all R-hat < 1.05 and no
    divergences). Columns the table lacks are left out."""
    if not rows:
        return [], []
    columns = list(rows[0])
    region = _column(columns, "ecoregion", "ecoregion_code", "region", "biome")
    rhat = _column(columns, "rhat", "r_hat")
    ess_bulk = _column(columns, "ess_bulk", "ess")
    ess_tail = _column(columns, "ess_tail")
    divergences = _column(columns, "divergences", "divergent", "n_divergences")
    depth = _column(columns, "treedepth_hits", "tree_depth_hits", "max_treedepth_hits",
                    "max_tree_depth_hits")
    converged = _column(columns, "converged")
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(row.get(region, "all") if region else "all", []).append(row)
    headers = ["ecoregion"]
    for name, column in (("max R-hat", rhat), ("min bulk ESS", ess_bulk),
                         ("min tail ESS", ess_tail), ("divergences", divergences),
                         ("tree-depth hits", depth)):
        if column:
            headers.append(name)
    headers.append("converged")
    out = []
    for label in sorted(groups, key=ecoregion_sort_key):
        group = groups[label]
        row: list[Any] = [label]
        stats = {}
        for key, column, reduce in (("rhat", rhat, np.max), ("ess_bulk", ess_bulk, np.min),
                                    ("ess_tail", ess_tail, np.min),
                                    ("divergences", divergences, np.max),
                                    ("depth", depth, np.max)):
            if column:
                found = _finite_values(group, column)
                stats[key] = float(reduce(found)) if found.size else math.nan
                value = stats[key]
                row.append("–" if not math.isfinite(value) else
                           f"{value:.3f}" if key == "rhat" else f"{value:,.0f}")
        flags = [_truthy(r.get(converged)) for r in group] if converged else []
        flags = [f for f in flags if f is not None]
        if flags:
            ok = all(flags)
        elif math.isfinite(stats.get("rhat", math.nan)):
            ok = stats["rhat"] < CONVERGED_RHAT and not stats.get("divergences", 0.0) > 0
        else:
            ok = None
        row.append("–" if ok is None else "yes" if ok else "NO")
        out.append(row)
    return headers, out


def bayesian_drivers(ctx: Context) -> h.Html:
    """Figures 7–8: the quadrant figure per scale and the convergence table."""
    parts = []
    found = False
    for number_, scale in enumerate(SCALES, start=7):
        figure_png = bayes_file(ctx.folder, scale, "figure.png")
        table_csv = bayes_file(ctx.folder, scale, "table.csv")
        parts.append(h.tag("h3", f"{scale.capitalize()} scale"))
        if not figure_png.is_file() and not table_csv.is_file():
            parts.append(h.missing(f"No {scale} Bayesian driver results in this folder "
                                   f"(bayes/{scale}_figure.png, bayes/{scale}_table.csv)."))
            continue
        found = True
        if figure_png.is_file():
            parts.append(h.figure(ctx.link(figure_png), f"Figure {number_} (as the paper's): "
                                  "per ecoregion and term, the estimate for precipitation (x) and "
                                  "for soil moisture (y); quadrants II and IV mark drivers of "
                                  "negative dependence; circles: k-means clusters; red: the "
                                  "least-squares line."))
        else:
            parts.append(h.missing(f"No quadrant figure (bayes/{scale}_figure.png)."))
        if not table_csv.is_file():
            parts.append(h.missing(f"No diagnostics table (bayes/{scale}_table.csv)."))
            continue
        rows = read_csv(table_csv)
        headers, summary = convergence_rows(rows)
        if summary:
            parts.append(h.table(headers, summary, numeric=[False] + [True] * (len(headers) - 1),
                                 caption=f"Convergence per ecoregion ({scale}): R-hat < "
                                         f"{CONVERGED_RHAT} and no divergences",
                                 id_=f"bayes-{scale}-convergence"))
            not_converged = [r[0] for r in summary if r[-1] == "NO"]
            parts.append(h.paragraph(
                f"{len(summary) - len(not_converged)} of {len(summary)} ecoregions converged"
                + (": not converged — " + ", ".join(not_converged) if not_converged else ".")))
            parts.append(h.details(f"All estimates ({table_csv.name}, {len(rows)} rows)",
                                   h.table(list(rows[0]), [list(r.values()) for r in rows])))
        else:
            parts.append(h.missing(f"{table_csv.name} has no rows."))
        report_html = bayes_file(ctx.folder, scale, "report.html")
        if report_html.is_file():
            parts.append(h.paragraph(h.join(["The step's own report: ",
                                             h.tag("a", report_html.name,
                                                   href=ctx.link(report_html))])))
    if not found:
        return h.missing("No Bayesian driver results in this folder (bayes/{scale}_figure.png, "
                         "bayes/{scale}_table.csv).")
    return h.join(parts)
