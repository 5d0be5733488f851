"""The driver figure (paper figures 7–8), its three-panel form (one panel per soil layer) and the
HTML report of a Bayesian drivers run.

Figure: x = estimate for P, y = estimate for SM, one point per (ecoregion, term) coloured by term,
the k-means clusters drawn as circles (centre = cluster centre, radius = farthest member), the
least-squares line across all points in red, and the quadrant axes with their names.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from soilp_qgis.bayes.data import TERMS  # noqa: E402
from soilp_qgis.bayes.quadrants import DriverPoints  # noqa: E402
from soilp_qgis.bayes.summary import RHAT_LIMIT  # noqa: E402
from soilp_qgis.report import html as h  # noqa: E402

TERM_COLOURS: dict[str, str] = dict(zip(TERMS, plt.get_cmap("tab10").colors))


QUADRANT_CORNERS = {"I": (0.97, 0.97), "II": (0.03, 0.97), "III": (0.03, 0.03),
                    "IV": (0.97, 0.03)}
NO_POINTS_TEXT = "no fitted ecoregion"


def draw_drivers(ax, drivers: DriverPoints | None, title: str = "", legend: bool = True) -> None:
    """The driver scatter of one run on ``ax``: a point per (ecoregion, term) coloured by term
    (one ``PathCollection`` per term, labelled with it), the k-means clusters as dashed circles,
    the least-squares line in red, the axes through the origin and the quadrant names.
    ``drivers`` None or without points: an empty panel saying so."""
    ax.axhline(0.0, color="0.3", linewidth=0.8, zorder=1)
    ax.axvline(0.0, color="0.3", linewidth=0.8, zorder=1)
    for name, (hx, hy) in QUADRANT_CORNERS.items():
        ax.text(hx, hy, name, transform=ax.transAxes, ha="right" if hx > 0.5 else "left",
                va="top" if hy > 0.5 else "bottom", fontsize=11, color="0.35")
    ax.set_xlabel("Estimate for precipitation (P)")
    ax.set_ylabel("Estimate for soil moisture (SM)")
    if title:
        ax.set_title(title)
    if drivers is None or not len(drivers.points):
        ax.text(0.5, 0.5, NO_POINTS_TEXT, transform=ax.transAxes, ha="center", va="center",
                color="0.4")
        return
    points = drivers.points
    x = points["estimate_P"].to_numpy(dtype=np.float64)
    y = points["estimate_SM"].to_numpy(dtype=np.float64)
    for term in TERMS:
        mine = (points["term"] == term).to_numpy()
        if mine.any():
            ax.scatter(x[mine], y[mine], s=28, color=TERM_COLOURS[term], label=term,
                       edgecolor="white", linewidth=0.4, zorder=3)
    span = max(np.abs(np.concatenate([x, y, [1e-3]])).max(), 1e-3)
    labels = points["cluster"].to_numpy()
    for k, centre in enumerate(drivers.centres):
        members = labels == k
        radius = float(np.hypot(x[members] - centre[0], y[members] - centre[1]).max())
        radius = max(radius * 1.08, 0.03 * span)
        ax.add_patch(Circle(tuple(centre), radius, fill=False, edgecolor="0.25",
                            linestyle="--", linewidth=1.0, zorder=2))
        ax.update_datalim([centre - radius, centre + radius])
    if np.isfinite(drivers.slope):
        line_x = np.array([x.min(), x.max()])
        ax.plot(line_x, drivers.slope * line_x + drivers.intercept, color="red", linewidth=1.5,
                zorder=4, label=f"least squares (slope {drivers.slope:.2f})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    if legend:
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)


def driver_figure(drivers: DriverPoints, title: str = "") -> Figure:
    """The driver scatter of one run as a matplotlib figure (Agg, not shown)."""
    fig, ax = plt.subplots(figsize=(7.0, 6.5), dpi=120)
    draw_drivers(ax, drivers, title)
    fig.tight_layout()
    return fig


def driver_panels_figure(panels: Sequence[tuple[str, DriverPoints | None]], title: str = ""
                         ) -> Figure:
    """The paper's figure 7 or 8: one driver panel per soil layer, side by side (``panels``:
    (panel title, the layer's driver points or None)), with one legend of the terms below."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.6), dpi=110,
                             squeeze=False)
    for ax, (panel_title, drivers) in zip(axes[0], panels):
        draw_drivers(ax, drivers, panel_title, legend=False)
    handles = [Line2D([], [], marker="o", linestyle="", color=TERM_COLOURS[term], label=term)
               for term in TERMS]
    handles.append(Line2D([], [], color="red", label="least squares"))
    handles.append(Line2D([], [], color="0.25", linestyle="--", label="k-means cluster"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0.0, 0.06, 1.0, 1.0))
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _cell(value: object, digits: int) -> object:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "NO"
    if isinstance(value, (float, np.floating)):
        return "–" if not np.isfinite(value) else f"{value:.{digits}f}"
    return value


def _frame_table(frame: pd.DataFrame, digits: int = 3, caption: str | None = None) -> h.Html:
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    rows = [[_cell(v, digits) for v in row] for row in frame.itertuples(index=False)]
    return h.table(list(frame.columns), rows, numeric=numeric, caption=caption)


def report_html(png: bytes | None, diagnostics: pd.DataFrame, drivers: DriverPoints,
                title: str = "Bayesian drivers of dependence", settings: dict | None = None) -> str:
    """A self-contained HTML report: the figure (embedded PNG), the ecoregions that did not
    converge, those skipped (with reasons), the diagnostics table and the driver points."""
    fitted = diagnostics[diagnostics["status"] == "fitted"]
    not_converged = fitted[~fitted["converged"].astype(bool)]
    left_out = diagnostics[diagnostics["status"] != "fitted"]
    subtitle = ", ".join(f"{k} = {v}" for k, v in (settings or {}).items())
    document = h.Document(title, subtitle)
    if png is not None:
        source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        document.add("figure", "Driver figure", h.figure(
            source, "Per ecoregion and term, the estimate for precipitation (x) and for soil "
            "moisture (y); quadrants II and IV mark drivers of negative dependence; circles: "
            "k-means clusters; red: the least-squares line."))
    if len(not_converged):
        content = h.join([h.warning(
            f"{len(not_converged)} of {len(fitted)} fitted ecoregions did not converge (R-hat ≥ "
            f"{RHAT_LIMIT} or divergent transitions); their estimates stay in the table and the "
            "figure, flagged converged = False."),
            h.tag("ul", h.join(h.tag("li", f"{r.ecoregion}: max R-hat {r.max_rhat:.3f}, "
                                           f"{int(r.divergences)} divergent transitions")
                               for r in not_converged.itertuples(index=False)))])
    else:
        content = h.paragraph(f"All {len(fitted)} fitted ecoregions converged (R-hat < "
                              f"{RHAT_LIMIT}, no divergent transitions).", class_="check")
    document.add("convergence", "Ecoregions that did not converge", content)
    if len(left_out):
        content = h.tag("ul", h.join(h.tag("li", f"{r.ecoregion} ({r.status}): {r.reason}")
                                     for r in left_out.itertuples(index=False)))
    else:
        content = h.paragraph("None.")
    document.add("skipped", "Ecoregions skipped", content)
    document.add("diagnostics", "Diagnostics", _frame_table(diagnostics))
    line = (f"Least-squares line: SM estimate = {drivers.slope:.4f} × P estimate "
            f"+ {drivers.intercept:.4f}." if np.isfinite(drivers.slope)
            else "No least-squares line (fewer than two distinct estimates for P).")
    document.add("points", "Driver points", h.join([
        h.paragraph(line + " Quadrants II and IV: the term drives a negative dependence."),
        _frame_table(drivers.points, digits=4)]))
    return document.render()


def write_report(path: str | Path, diagnostics: pd.DataFrame, drivers: DriverPoints,
                 figure: Figure | None = None, title: str = "Bayesian drivers of dependence",
                 settings: dict | None = None) -> Path:
    """Write :func:`report_html` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    png = figure_png(figure) if figure is not None else None
    path.write_text(report_html(png, diagnostics, drivers, title, settings), encoding="utf-8")
    return path
