"""The names of the full analysis's output folder (docs/OUTPUTS.md), as the report looks them up."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

#: soil layer name in the file names → what it is
LAYERS = {"layer1": "Layer 1 (0–7 cm)", "layer2": "Layer 2 (7–28 cm)",
          "layer3": "Layer 3 (28–100 cm)"}
#: copula time scales
SCALES = {"monthly": "monthly", "annual": "annual"}
#: ridge periods, in the order of the paper's figures 4 (monthly), 5 (seasons) and 6 (annual)
PERIODS = ("monthly", "MAM", "JJA", "SON", "DJF", "annual")
SEASONS = ("MAM", "JJA", "SON", "DJF")
#: copula outputs drawn as maps: file suffix → (row label, symbol)
DEPENDENCE_MEASURES = {"tau": ("Kendall's τ", "τ"),
                       "lower_tail": ("lower tail dependence λL", "λL"),
                       "upper_tail": ("upper tail dependence λU", "λU")}
#: names tried, in order, for the ecoregion raster that gives the land outline
ECOREGION_RASTER_NAMES = ("ecoregions.tif", "inputs/ecoregions.tif", "ecoregions_raster.tif",
                          "inputs/ecoregions_raster.tif")


def copula_file(folder: Path, layer: str, scale: str, what: str) -> Path:
    """``copula_{layer}_{scale}_{what}`` (``what``: ``tau.tif``, ``table.csv`` …)."""
    return Path(folder) / f"copula_{layer}_{scale}_{what}"


def lag_file(folder: Path, layer: str, what: str) -> Path:
    """``lag_{layer}_{what}`` (``optimal_lag.tif``, ``tau_at_optimal_lag.tif`` …)."""
    return Path(folder) / f"lag_{layer}_{what}"


def ridge_file(folder: Path, layer: str, period: str, what: str) -> Path:
    """``ridge_{layer}_{period}_{what}`` (``rgb.tif``, ``rgb_legend.png``, ``table.csv`` …)."""
    return Path(folder) / f"ridge_{layer}_{period}_{what}"


def ridge_legend(folder: Path, layer: str, period: str) -> Optional[Path]:
    """The composite's legend PNG: ``…_rgb_legend.png`` (the ridge step's default name beside the
    composite) or ``…_legend.png``; None if neither is there."""
    for what in ("rgb_legend.png", "legend.png"):
        path = ridge_file(folder, layer, period, what)
        if path.is_file():
            return path
    return None


def bayes_file(folder: Path, scale: str, what: str) -> Path:
    """``bayes_{scale}_{what}`` (``table.csv``, ``figure.png`` …)."""
    return Path(folder) / f"bayes_{scale}_{what}"


def find_ecoregion_raster(folder: Path) -> Optional[Path]:
    """An ecoregion raster in the output folder (or its ``inputs/``), if there is one."""
    for name in ECOREGION_RASTER_NAMES:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None
