"""Margins of the copula analysis: pseudo-observations, parametric margins, seasonal anomalies.

Blocks are ``(cells, time)`` arrays with NaN for missing steps.

Ties. Precipitation has ties (dry months: many in deserts), and they matter for the fit. The
policy, chosen on purpose:

- Empirical margins (default): pseudo-observations rank/(n+1) with tied values sharing their
  average rank, as R's ``pobs`` (ties.method = "average", what the paper's VineCopula/copula
  workflow does). The k tied dry steps of a cell with n valid steps all get
  u = (k + 1) / (2(n + 1)), the middle of the probability range they occupy. Averaging keeps the
  result deterministic, symmetric in the tied steps and identical to R; random tie-breaking would
  invent an order among dry months that the data do not have.
- Parametric margins: precipitation with dry steps gets a point mass p0 = k/n at zero and a
  continuous distribution G for the wet steps, F(x) = p0 + (1 − p0)·G(x). A dry step gets the
  mid-point u = p0/2 of the point mass: the same place the average rank puts it (up to the
  n/(n+1) factor of pobs), so both margin options treat ties alike.
- Cells whose series are too coarse to fit at all (fewer distinct values than the fitter's
  threshold) get a status instead of a fit; that test lives in ``fit``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

# scipy.stats and scipy.optimize are imported where the parametric margins need them: importing
# scipy.stats costs about a second and a half, in the engine and in every worker process, and
# the default (empirical) margins never use it
#: candidate distributions of the parametric margins, with their number of fitted parameters
MARGIN_DISTRIBUTIONS: dict[str, int] = {"normal": 2, "lognormal": 2, "gamma": 2, "weibull": 2,
                                        "gev": 3}

#: parametric uniforms are kept inside [UNIFORM_EPS, 1 − UNIFORM_EPS] (copula densities are
#: infinite on the border of the unit square)
UNIFORM_EPS = 1e-10


def pseudo_observations(block: np.ndarray) -> np.ndarray:
    """Per row: rank/(n+1) among the finite values (n of them), ties averaged as R's ``pobs``.

    NaN stays NaN. ``block`` is ``(cells, time)`` (or 1-D for one series).
    """
    x = np.asarray(block, dtype=float)
    squeeze = x.ndim == 1
    x = np.atleast_2d(x)
    ranks = average_ranks(x)
    n = np.isfinite(x).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = ranks / (n + 1)
    return u[0] if squeeze else u


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1 … n along the last axis, ties sharing their average rank, NaN where ``x`` is NaN
    (the other values ranked among themselves): ``scipy.stats.rankdata(x, axis=-1,
    method="average", nan_policy="omit")``, the same steps in numpy (stable sort, NaN last),
    without importing scipy.stats."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return np.empty(x.shape)
    shape = x.shape
    order = np.argsort(x, axis=-1, kind="stable")
    y = np.take_along_axis(x, order, axis=-1)
    first = np.concatenate([np.ones(shape[:-1] + (1,), dtype=bool), y[..., :-1] != y[..., 1:]],
                           axis=-1)  # NaN != NaN: each NaN its own group, after the values
    starts = np.flatnonzero(first.reshape(-1))
    counts = np.diff(starts, append=y.size)
    ordinal = np.broadcast_to(np.arange(1, shape[-1] + 1, dtype=float), shape)
    sorted_ranks = np.repeat(ordinal[first] + (counts.astype(float) - 1) / 2, counts)
    ranks = np.empty(shape)
    np.put_along_axis(ranks, order, sorted_ranks.reshape(shape), axis=-1)
    ranks[np.isnan(x)] = np.nan
    return ranks


@dataclass(frozen=True)
class MarginFit:
    """A fitted margin: distribution name, scipy parameters, AIC, and the share of dry steps."""

    distribution: str
    parameters: tuple[float, ...]
    aic: float
    zero_share: float = 0.0
    truncated_at_zero: bool = False

    def cdf(self, values) -> np.ndarray:
        """Probability integral transform of ``values`` (dry → mid-point of the point mass)."""
        x = np.asarray(values, dtype=float)
        dist = _frozen(self.distribution, self.parameters)
        g = dist.cdf(x)
        if self.truncated_at_zero:
            g0 = dist.cdf(0.0)
            g = (g - g0) / (1 - g0)
        if self.zero_share > 0:
            g = np.where(x <= 0, 0.0, g)
            u = np.where(x <= 0, self.zero_share / 2, self.zero_share + (1 - self.zero_share) * g)
        else:
            u = g
        return np.clip(u, UNIFORM_EPS, 1 - UNIFORM_EPS)


#: scipy.stats distributions of the positive-only candidates
_SCIPY = {"lognormal": "lognorm", "gamma": "gamma", "weibull": "weibull_min"}
_POSITIVE_ONLY = tuple(_SCIPY)


def _distribution(name: str):
    """The scipy.stats distribution of a candidate (scipy.stats imported on first use)."""
    from scipy import stats

    return getattr(stats, {"normal": "norm", "gev": "genextreme"}.get(name) or _SCIPY[name])


def _frozen(name: str, params: tuple[float, ...]):
    """scipy distribution of a candidate: normal (loc, scale), lognormal (σ, e^μ), gamma and
    Weibull (shape, scale; location 0), GEV (shape, loc, scale)."""
    from scipy import stats

    if name == "normal":
        return stats.norm(loc=params[0], scale=params[1])
    if name == "gev":
        return stats.genextreme(params[0], loc=params[1], scale=params[2])
    return _distribution(name)(params[0], scale=params[1])


def _fit_candidate(name: str, values: np.ndarray, truncate: bool):
    """MLE parameters and log-likelihood of one candidate, or None when it does not apply."""
    if name in _POSITIVE_ONLY and not np.all(values > 0):
        return None
    if name == "normal":
        params = (float(values.mean()), float(values.std()))
    elif name == "lognormal":
        logs = np.log(values)
        params = (float(logs.std()), float(np.exp(logs.mean())))
    elif name == "gev":
        params = tuple(float(v) for v in _distribution("gev").fit(values))
    else:
        shape, _, scale = _distribution(name).fit(values, floc=0)
        params = (float(shape), float(scale))
    if (not all(np.isfinite(params)) or params[-1] <= 0
            or (name in _POSITIVE_ONLY and params[0] <= 0)):
        return None
    dist = _frozen(name, params)
    truncated = truncate and name in ("normal", "gev") and dist.cdf(0.0) > 1e-12
    if truncated:
        params = _truncated_mle(name, values, params)
        dist = _frozen(name, params)
    loglik = float(np.sum(dist.logpdf(values)))
    if truncated:
        loglik -= values.size * float(np.log1p(-dist.cdf(0.0)))
    if not np.isfinite(loglik):
        return None
    return params, loglik, truncated


def _truncated_loglik(name: str, values: np.ndarray, params: tuple[float, ...]) -> float:
    """Log-likelihood of a normal or GEV truncated at zero (unfrozen scipy calls: fast)."""
    if name == "normal":
        loc, scale = params
        z = (values - loc) / scale
        logpdf = -0.5 * z * z - np.log(scale) - 0.5 * np.log(2 * np.pi)
        below = special.ndtr(-loc / scale)
    else:
        from scipy import stats

        shape, loc, scale = params
        logpdf = stats.genextreme.logpdf(values, shape, loc=loc, scale=scale)
        below = stats.genextreme.cdf(0.0, shape, loc=loc, scale=scale)
    return float(np.sum(logpdf) - values.size * np.log1p(-below))


def _truncated_mle(name: str, values: np.ndarray, start: tuple[float, ...]) -> tuple[float, ...]:
    """ML parameters of a normal or GEV truncated at zero (Nelder–Mead from ``start``)."""
    from scipy import optimize

    def negative(x: np.ndarray) -> float:
        params = (*x[:-1], float(np.exp(x[-1])))
        with np.errstate(all="ignore"):
            value = _truncated_loglik(name, values, params)
        return -value if np.isfinite(value) else np.inf

    x0 = np.array([*start[:-1], np.log(start[-1])])
    result = optimize.minimize(negative, x0, method="Nelder-Mead",
                               options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000})
    x = result.x if np.isfinite(result.fun) and result.fun <= negative(x0) else x0
    return (*(float(v) for v in x[:-1]), float(np.exp(x[-1])))


def fit_margin(values, point_mass_at_zero: bool = False) -> MarginFit:
    """Best of normal, lognormal, gamma, Weibull, GEV by AIC for the finite ``values``.

    With ``point_mass_at_zero`` (precipitation), steps ≤ 0 are dry: they form a point mass of
    probability p0 = dry/n and the candidates are fitted to the wet steps only; normal and GEV,
    whose support reaches below zero, are fitted as distributions truncated at zero (maximum
    likelihood of the truncated density). Lognormal, gamma and Weibull (location 0) apply only
    to positive values.
    Raises ValueError when no candidate can be fitted.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    zero_share = 0.0
    if point_mass_at_zero:
        wet = x > 0
        zero_share = float(1 - wet.mean()) if x.size else 0.0
        x = x[wet]
    if x.size < 3 or np.ptp(x) == 0:
        raise ValueError("too few distinct values to fit a margin")
    best = None
    for name, k in MARGIN_DISTRIBUTIONS.items():
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # scipy's optimisers warn on odd samples
                fitted = _fit_candidate(name, x, truncate=zero_share > 0)
        except (ValueError, RuntimeError, FloatingPointError):
            fitted = None
        if fitted is None:
            continue
        params, loglik, truncated = fitted
        aic = 2 * k - 2 * loglik
        if best is None or aic < best.aic:
            best = MarginFit(name, params, aic, zero_share, truncated)
    if best is None:
        raise ValueError("no margin distribution could be fitted")
    return best


def parametric_uniforms(values, point_mass_at_zero: bool = False) -> np.ndarray:
    """``fit_margin`` then its CDF at ``values`` (1-D; NaN stays NaN)."""
    x = np.asarray(values, dtype=float)
    fit = fit_margin(x, point_mass_at_zero)
    u = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    u[finite] = fit.cdf(x[finite])
    return u


def calendar_months(dates) -> np.ndarray:
    """Calendar month 1–12 of each date (``datetime64`` or ISO strings)."""
    months = np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months % 12 + 1


def deseasonalize(block: np.ndarray, months) -> np.ndarray:
    """Standardised anomalies per calendar month: (x − mean_m) / sd_m for each cell.

    ``months``: the calendar month (1–12) of each time step, or the steps' dates. Mean and sample
    standard deviation (ddof = 1) per cell and month over the finite values; where a month has
    no spread (a constant month, e.g. always dry, or a single value) its anomalies are 0.
    NaN stays NaN.
    """
    x = np.asarray(block, dtype=float)
    months = np.asarray(months)
    if months.dtype.kind in "MUSO":
        months = calendar_months(months)
    months = months.astype(np.int64).reshape(-1)
    if months.size != x.shape[-1]:
        raise ValueError(f"{months.size} months for {x.shape[-1]} time steps")
    out = np.full(x.shape, np.nan)
    for month in np.unique(months):
        cols = months == month
        part = x[..., cols]
        finite = np.isfinite(part)
        count = finite.sum(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(part, axis=-1, keepdims=True) / count
            sd = np.sqrt(np.nansum((part - mean) ** 2, axis=-1, keepdims=True) / (count - 1))
            anomaly = np.where(sd > 0, (part - mean) / sd, 0.0)
        out[..., cols] = np.where(finite, anomaly, np.nan)
    return out
