"""What the dependence steps share for significance and uncertainty: the parameters ALPHA,
BOOTSTRAP_REPLICATES, BLOCK_LENGTH, SEED, the significance map's style and band, the
bootstrap's resampling counts and a one-line description of the settings for the log."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import contract, styles
from ..bootstrap import default_block_length, resampling_counts
from ..errors import InputError
from ..significance import SIGNIFICANCE_CLASSES, check_alpha, fdr_level

#: the significance raster's data type: its values are −1, 0, +1 (int8 in the engine), but GDAL
#: before 3.7 (QGIS 3.22 on Debian 12) reads a signed-byte GeoTIFF as unsigned (−1 → 255), so
#: the file is Int16
SIGNIFICANCE_DTYPE = "int16"
#: the significance raster's band name
SIGNIFICANCE_BAND = "significance (-1 negative, 0 not significant, +1 positive; FDR)"


def alpha_parameter() -> Any:
    """ALPHA: field significance level α; BH runs at 2 α (Wilks 2016)."""
    return contract.number(0.05, minimum=0.001, maximum=0.25)


def replicates_parameter(default: int) -> Any:
    """BOOTSTRAP_REPLICATES: moving-block bootstrap replicates, 0 = no bootstrap."""
    return contract.integer(default, minimum=0, maximum=5000)


def block_length_parameter() -> Any:
    """BLOCK_LENGTH: time steps per bootstrap block, 0 = ⌈n^(1/3)⌉."""
    return contract.integer(0, minimum=0)


def seed_parameter() -> Any:
    """SEED: seed of the bootstrap's draws."""
    return contract.integer(0, minimum=0)


def significance_style(context: Any = None) -> str:
    """significance (paletted: −1 significantly negative, 0 not significant, +1 positive)"""
    return styles.paletted_style(styles.StyleClass(value, label, colour)
                                 for value, label, colour in SIGNIFICANCE_CLASSES)


def bootstrap_counts(p: Any, steps: int) -> np.ndarray | None:
    """The replicates' draws of the ``steps`` time steps, from SEED, once per run (None with 0
    replicates); a BLOCK_LENGTH longer than the series is refused before any work."""
    check_alpha(p.alpha)
    if p.block_length > steps:
        raise InputError(f"BLOCK_LENGTH {p.block_length} is longer than the series "
                         f"({steps} time steps)")
    if not p.bootstrap_replicates:
        return None
    return resampling_counts(steps, p.bootstrap_replicates, p.block_length, p.seed)


def settings_line(p: Any, steps: int) -> str:
    """``α = 5 % (BH at 10 %), 500 block-bootstrap replicates of 7 steps, seed 0``"""
    line = f"α = {p.alpha:.3g} (Benjamini–Hochberg at {fdr_level(p.alpha):.3g})"
    if not p.bootstrap_replicates:
        return line + ", no bootstrap"
    length = p.block_length or default_block_length(steps)
    return (line + f", {p.bootstrap_replicates} moving-block bootstrap replicates of "
                   f"{length} steps, seed {p.seed}")


__all__ = ["SIGNIFICANCE_BAND", "SIGNIFICANCE_DTYPE", "alpha_parameter", "block_length_parameter",
           "bootstrap_counts", "replicates_parameter", "seed_parameter", "settings_line",
           "significance_style"]
