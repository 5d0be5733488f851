"""The full analysis's output folder as the report looks it up, read from the one declaration of
it, ``resources/output_layout.json`` (also read by the model builder and rendered as
docs/OUTPUTS.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ..tables import resources_dir

LAYOUT_FILE = "output_layout.json"


@cache
def output_layout() -> dict[str, Any]:
    """``resources/output_layout.json`` as a dict."""
    with open(resources_dir() / LAYOUT_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def _dimension(name: str) -> dict[str, str]:
    return dict(output_layout()["dimensions"][name])


#: soil layer name in the file names → what it is
LAYERS = {key: f"Layer {key[-1]} ({depth})" for key, depth in _dimension("layer").items()}
#: copula time scales
SCALES = {key: key for key in _dimension("scale")}
#: ridge periods, in the order of the paper's figures 4 (monthly), 5 (seasons) and 6 (annual)
PERIODS = tuple(_dimension("period"))
SEASONS = tuple(period for period in PERIODS if period not in ("monthly", "annual"))
#: copula outputs drawn as maps: file suffix → (row label, symbol)
DEPENDENCE_MEASURES = {"tau": ("Kendall's τ", "τ"),
                       "lower_tail": ("lower tail dependence λL", "λL"),
                       "upper_tail": ("upper tail dependence λU", "λU")}
#: names tried, in order, for the ecoregion raster that gives the land outline
ECOREGION_RASTER_NAMES = ("ecoregions.tif", "inputs/ecoregions.tif", "ecoregions_raster.tif",
                          "inputs/ecoregions_raster.tif")


def relative_path(group: str, file: str, **dimensions: str) -> str:
    """Where ``file`` (a key of the group's ``files``: ``tau.tif``, ``table.csv`` …) of one
    ``group`` (``copula``, ``lag``, ``ridge``, ``bayes``, ``inputs``, ``report``) lives inside the
    output folder, e.g. ``relative_path("copula", "tau.tif", layer="layer1", scale="monthly")``
    → ``copula/layer1_monthly_tau.tif``."""
    entry = output_layout()["groups"][group]
    if file not in entry["files"]:
        raise KeyError(f"{group} has no file {file!r} in {LAYOUT_FILE}")
    name = entry["name"].format(file=file, **dimensions)
    return f"{entry['folder']}/{name}" if entry["folder"] else name


def copula_file(folder: Path, layer: str, scale: str, what: str) -> Path:
    """The copula output ``what`` (``tau.tif``, ``table.csv`` …) of a layer and scale."""
    return Path(folder) / relative_path("copula", what, layer=layer, scale=scale)


def lag_file(folder: Path, layer: str, what: str) -> Path:
    """The lag output ``what`` (``optimal_lag.tif``, ``tau_at_optimal_lag.tif`` …) of a layer."""
    return Path(folder) / relative_path("lag", what, layer=layer)


def ridge_file(folder: Path, layer: str, period: str, what: str) -> Path:
    """The ridge output ``what`` (``rgb.tif``, ``legend.png``, ``table.csv`` …)."""
    return Path(folder) / relative_path("ridge", what, layer=layer, period=period)


def ridge_legend(folder: Path, layer: str, period: str) -> Path | None:
    """The composite's legend PNG (``<composite>_legend.png``, where the ridge step writes it by
    default), or None when it is not there."""
    path = ridge_file(folder, layer, period, "rgb_legend.png")
    return path if path.is_file() else None


def bayes_file(folder: Path, layer: str, scale: str, what: str) -> Path:
    """The Bayesian output ``what`` (``table.csv``, ``figure.png`` …) of a layer and scale."""
    return Path(folder) / relative_path("bayes", what, layer=layer, scale=scale)


def find_ecoregion_raster(folder: Path) -> Path | None:
    """An ecoregion raster in the output folder (or its ``inputs/``), if there is one."""
    for name in ECOREGION_RASTER_NAMES:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None
