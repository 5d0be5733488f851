"""Ridge-regression control of soil moisture (paper section 2.2.2), vectorised across cells.

Per cell, on the steps where every variable is valid, each variable is standardised to z-scores
(population standard deviation) and soil moisture is regressed on precipitation frequency,
precipitation volume and evapotranspiration, optionally with air temperature as a control (in the
model, not in the weights)::

    SM = b_freq*F + b_vol*V + b_ET*E (+ b_Ta*T) + intercept

with scikit-learn's penalty: minimise ||y - X b||^2 + alpha*||b||^2, intercept not penalised.
Because every variable is centred over the cell's valid steps, the intercept is zero and the
coefficients are ``(X'X + alpha I)^-1 X'y``. All cells are solved at once from the
eigendecomposition of their small Gram matrices ``X'X = V diag(s^2) V'`` (the right singular
vectors and squared singular values of ``X``); steps that are missing in a cell are zero rows of
its ``X`` and ``y``, so cells with different missing steps need no loop.

When alpha is not fixed it is chosen per cell over a log-spaced grid by exact leave-one-out: the
ridge fit with an unpenalised intercept is a linear smoother
``H = 11'/n + X (X'X + alpha I)^-1 X'``, so the leave-one-out residual of step i is
``e_i / (1 - h_ii)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soilp_qgis.errors import InputError
from soilp_qgis.tables import status_code

__all__ = [
    "COEFFICIENT_NAMES",
    "WEIGHT_NAMES",
    "DOMINANT_CLASSES",
    "DOMINANT_NODATA",
    "DEFAULT_ALPHA_GRID",
    "RidgeControl",
    "ridge_control",
    "ridge_control_block",
    "control_weights",
    "dominant_class",
    "dominant_class_shares",
]

#: Column order of :attr:`RidgeControl.coefficients` (standardised coefficients).
COEFFICIENT_NAMES = ("beta_frequency", "beta_volume", "beta_et", "beta_air_temperature")
#: Column order of :attr:`RidgeControl.weights`.
WEIGHT_NAMES = ("weight_frequency", "weight_volume", "weight_et")
#: Codes of the dominant-control raster.
DOMINANT_CLASSES = {0: "mixed", 1: "volume", 2: "frequency", 3: "evapotranspiration"}
#: Dominant-control value of cells that could not be fitted.
DOMINANT_NODATA = 255
#: Default alpha grid of the leave-one-out search: 10^-3 ... 10^3, four values per decade.
DEFAULT_ALPHA_GRID = np.logspace(-3.0, 3.0, 25)

# Per-cell status codes (resources/status_codes.json).
_FITTED = status_code("fitted")
_NO_DATA = status_code("no_data")
_TOO_FEW = status_code("too_few_values")
_CONSTANT = status_code("constant_series")
_FIT_FAILED = status_code("fit_failed")
# Dominant class for weight column j (frequency, volume, ET).
_CLASS_OF_WEIGHT = np.array([2, 1, 3], dtype=np.uint8)


@dataclass
class RidgeControl:
    """Per-cell results of :func:`ridge_control`; cells with ``status != 0`` are NaN / nodata.

    coefficients: ``(cells, 4)`` standardised coefficients in :data:`COEFFICIENT_NAMES` order
        (the air-temperature column is NaN everywhere when no air temperature was given).
    alpha: ``(cells,)`` the penalty used (the fixed one, or the one chosen by leave-one-out).
    weights: ``(cells, 3)`` ``|b_i| / (|b_freq| + |b_vol| + |b_ET|)`` in :data:`WEIGHT_NAMES` order.
    dominant: ``(cells,)`` uint8, 1 volume, 2 frequency, 3 ET where that weight exceeds the strong
        control threshold, 0 mixed, :data:`DOMINANT_NODATA` where not fitted.
    status: ``(cells,)`` uint8 status code (0 fitted, 1 no data, 2 too few values, 3 constant
        series, 5 fit failed).
    valid_steps: ``(cells,)`` number of steps where every variable is valid.
    """

    coefficients: np.ndarray
    alpha: np.ndarray
    weights: np.ndarray
    dominant: np.ndarray
    status: np.ndarray
    valid_steps: np.ndarray


def ridge_control(
    soil_moisture: np.ndarray,
    precip_frequency: np.ndarray,
    precip_volume: np.ndarray,
    evapotranspiration: np.ndarray,
    air_temperature: np.ndarray | None = None,
    *,
    alpha: float | None = None,
    alpha_grid: np.ndarray | None = None,
    strong_control: float = 0.75,
    min_observations: int = 10,
    chunk_cells: int = 256,
) -> RidgeControl:
    """Fit the standardised ridge model of soil moisture in every cell of a ``(cells, time)`` block.

    ``alpha`` fixed (>= 0, scikit-learn's meaning) or ``None`` to choose it per cell by exact
    leave-one-out over ``alpha_grid`` (default :data:`DEFAULT_ALPHA_GRID`; ties go to the smallest).
    Cells are processed ``chunk_cells`` at a time to bound memory; NaN marks a missing value.
    """
    names = ["SOIL_MOISTURE", "PRECIP_FREQUENCY", "PRECIP_VOLUME", "EVAPOTRANSPIRATION"]
    arrays = [soil_moisture, precip_frequency, precip_volume, evapotranspiration]
    if air_temperature is not None:
        names.append("AIR_TEMPERATURE")
        arrays.append(air_temperature)
    arrays = [np.asarray(a) for a in arrays]
    shape = arrays[0].shape
    if len(shape) != 2:
        raise InputError(f"{names[0]}: expected a (cells, time) block, got shape {shape}")
    for name, a in zip(names[1:], arrays[1:]):
        if a.shape != shape:
            raise InputError(f"{name}: block shape {a.shape} differs from {names[0]}'s {shape}")
    if not (0.0 < strong_control <= 1.0):
        raise InputError(f"STRONG_CONTROL must be in (0, 1], got {strong_control}")
    if min_observations < 3:
        raise InputError(f"MIN_OBSERVATIONS must be at least 3, got {min_observations}")
    if alpha is not None and not (np.isfinite(alpha) and alpha >= 0):
        raise InputError(f"ALPHA must be a finite number >= 0 (or empty for automatic), "
                         f"got {alpha}")
    grid = (DEFAULT_ALPHA_GRID if alpha_grid is None
            else np.sort(np.asarray(alpha_grid, dtype=np.float64)))
    if alpha is None and (grid.ndim != 1 or grid.size == 0
                          or not np.all(np.isfinite(grid) & (grid > 0))):
        raise InputError("alpha grid must be a non-empty list of finite positive penalties")

    cells = shape[0]
    out = RidgeControl(
        coefficients=np.full((cells, 4), np.nan),
        alpha=np.full(cells, np.nan),
        weights=np.full((cells, 3), np.nan),
        dominant=np.full(cells, DOMINANT_NODATA, dtype=np.uint8),
        status=np.zeros(cells, dtype=np.uint8),
        valid_steps=np.zeros(cells, dtype=np.int32),
    )
    step = max(1, int(chunk_cells))
    for start in range(0, cells, step):
        rows = slice(start, min(start + step, cells))
        _fit_chunk([a[rows] for a in arrays], alpha, grid, min_observations, out, rows)

    fitted = out.status == _FITTED
    out.dominant[fitted] = dominant_class(out.weights[fitted], strong_control)
    return out


def ridge_control_block(blocks: dict[str, np.ndarray], **options) -> dict[str, np.ndarray]:
    """Block function for the executor: :func:`ridge_control` on named ``(cells, time)`` inputs.

    ``blocks`` holds ``soil_moisture``, ``precip_frequency``, ``precip_volume``,
    ``evapotranspiration`` and optionally ``air_temperature``; ``options`` are
    :func:`ridge_control`'s keyword arguments. Returns ``coefficients`` (cells, 4), ``alpha``,
    ``weights`` (cells, 3), ``dominant`` and ``status`` (uint8). Cells the executor skips should
    get status 1 (no data) and dominant :data:`DOMINANT_NODATA`.
    """
    result = ridge_control(
        blocks["soil_moisture"],
        blocks["precip_frequency"],
        blocks["precip_volume"],
        blocks["evapotranspiration"],
        blocks.get("air_temperature"),
        **options,
    )
    return {
        "coefficients": result.coefficients,
        "alpha": result.alpha,
        "weights": result.weights,
        "dominant": result.dominant,
        "status": result.status,
    }


def _fit_chunk(arrays, alpha, grid, min_observations, out: RidgeControl, rows: slice) -> None:
    """Fit one chunk of cells and write its results into ``out[rows]``."""
    data = np.stack([np.asarray(a, dtype=np.float64) for a in arrays])  # (k, c, t)
    valid = np.all(np.isfinite(data), axis=0)  # (c, t)
    n = valid.sum(axis=1)
    status = np.where(n == 0, _NO_DATA,
                      np.where(n < min_observations, _TOO_FEW, _FITTED)).astype(np.uint8)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        data = np.where(valid, data, 0.0)
        mean = data.sum(axis=2) / n  # (k, c)
        centred = np.where(valid, data - mean[:, :, None], 0.0)
        std = np.sqrt((centred * centred).sum(axis=2) / n)
    # values beyond float64's range
    overflow = ~np.all(np.isfinite(std) & np.isfinite(mean), axis=0)
    status[(status == _FITTED) & overflow] = _FIT_FAILED
    constant = np.any(std <= 1e-10 * np.abs(mean), axis=0)
    status[(status == _FITTED) & constant] = _CONSTANT

    ok = np.flatnonzero(status == _FITTED)
    if ok.size:
        z = centred[:, ok] / std[:, ok, None]  # (k, m, t), zero on missing steps
        y = z[0]  # (m, t)
        x = np.ascontiguousarray(z[1:].transpose(1, 0, 2))  # (m, p, t)
        nk = n[ok].astype(np.float64)
        gram = x @ x.transpose(0, 2, 1)  # (m, p, p)
        xty = np.einsum("mpt,mt->mp", x, y)
        s2, vecs = np.linalg.eigh(gram)
        s2 = np.clip(s2, 0.0, None)
        r = np.einsum("mpq,mp->mq", vecs, xty)  # V' X'y
        if alpha is None:
            chosen = _loo_alpha(x, y, vecs, s2, r, nk, grid)
        else:
            chosen = np.full(ok.size, float(alpha))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            beta = np.einsum("mpq,mq->mp", vecs, r / (s2 + chosen[:, None]))
            abs_sum = np.abs(beta[:, :3]).sum(axis=1)
            weights = np.abs(beta[:, :3]) / abs_sum[:, None]
        # A singular penalised Gram matrix (alpha = 0 with collinear predictors) has no unique fit.
        singular = s2[:, 0] + chosen <= 1e-12 * s2[:, -1]
        good = (np.all(np.isfinite(beta), axis=1) & np.isfinite(chosen) & (abs_sum > 0)
                & np.isfinite(abs_sum))
        good &= ~singular
        status[ok[~good]] = _FIT_FAILED
        keep = ok[good]
        coefficients = out.coefficients[rows]
        coefficients[keep, : beta.shape[1]] = beta[good]
        out.alpha[rows][keep] = chosen[good]
        out.weights[rows][keep] = weights[good]

    out.status[rows] = status
    out.valid_steps[rows] = n


def _loo_alpha(x, y, vecs, s2, r, n, grid) -> np.ndarray:
    """Per cell, the grid penalty with the least mean squared leave-one-out residual (NaN if none).

    ``x`` (m, p, t) and ``y`` (m, t) are zero on missing steps, which therefore add nothing.
    """
    q = vecs.transpose(0, 2, 1) @ x  # (m, p, t): rows of X V, transposed
    q2 = q * q
    best = np.full(y.shape[0], np.inf)
    chosen = np.full(y.shape[0], np.nan)
    inv_n = (1.0 / n)[:, None]  # the unpenalised intercept's share of every leverage
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for a in grid:
            d = 1.0 / (s2 + a)  # (m, p)
            fitted = ((r * d)[:, None, :] @ q)[:, 0]  # (m, t)
            leverage = (d[:, None, :] @ q2)[:, 0]
            loo = (y - fitted) / (1.0 - inv_n - leverage)
            mse = np.einsum("mt,mt->m", loo, loo) / n
            better = np.isfinite(mse) & (mse < best)
            best[better] = mse[better]
            chosen[better] = a
    return chosen


def control_weights(coefficients: np.ndarray) -> np.ndarray:
    """Weights ``|b_i| / (|b_freq| + |b_vol| + |b_ET|)`` from ``(cells, >=3)`` coefficients."""
    b = np.abs(np.asarray(coefficients, dtype=np.float64)[..., :3])
    with np.errstate(invalid="ignore", divide="ignore"):
        return b / b.sum(axis=-1, keepdims=True)


def dominant_class(weights: np.ndarray, strong_control: float = 0.75) -> np.ndarray:
    """Dominant control per cell from ``(cells, 3)`` weights (frequency, volume, ET).

    1 volume, 2 frequency, 3 ET where that weight is above ``strong_control`` (the largest such
    weight if several), 0 mixed, :data:`DOMINANT_NODATA` where the weights are not finite.
    """
    w = np.asarray(weights, dtype=np.float64)
    finite = np.all(np.isfinite(w), axis=-1)
    top = np.argmax(np.where(np.isfinite(w), w, -np.inf), axis=-1)
    top_weight = np.take_along_axis(w, top[..., None], axis=-1)[..., 0]
    classes = np.where(top_weight > strong_control, _CLASS_OF_WEIGHT[top], 0).astype(np.uint8)
    classes[~finite] = DOMINANT_NODATA
    return classes


def dominant_class_shares(dominant: np.ndarray) -> dict[int, float]:
    """Fraction of the valid cells (not :data:`DOMINANT_NODATA`) in each dominant class code 0-3;
    NaN for every class when there is no valid cell. The mapping :func:`ternary_legend_png`
    takes."""
    dom = np.asarray(dominant).ravel()
    valid = dom[dom != DOMINANT_NODATA]
    if valid.size == 0:
        return {code: float("nan") for code in DOMINANT_CLASSES}
    return {code: float(np.mean(valid == code)) for code in DOMINANT_CLASSES}
