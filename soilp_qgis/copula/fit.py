"""Per-block copula fits: the fitter interface and its pyvinecopulib implementation.

A block is precipitation and soil moisture as ``(cells, time)`` arrays on the same steps. Per
cell, the steps where both are valid are used; the copula family is chosen by maximum likelihood
and AIC (or BIC) among a family set of VineCopula codes, as R VineCopula's ``BiCopSelect``; τ and
tail dependence then come from the chosen family and parameters (``dependence``).

Per-cell status (``resources/status_codes.json``), tested in this order:
1 no step where both series are valid; 2 fewer valid pairs than ``min_observations``;
3 one series constant over the valid pairs; 4 too many ties: one series has fewer than
``min_distinct_values`` distinct values over the valid pairs (default 5: ranks that coarse hold
too little information for a two-parameter family, and such cells are almost all dry);
5 the fit failed (any exception in the margins or the copula fit of that cell).
A cell with a non-zero status is NaN in every float output and −1 in ``family``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import InputError
from . import families as fam
from .dependence import discordant_tail_dependence, kendall_tau, tail_dependence
from .margins import parametric_uniforms, pseudo_observations

STATUS_FITTED, STATUS_NO_DATA, STATUS_TOO_FEW, STATUS_CONSTANT = 0, 1, 2, 3
STATUS_TIES, STATUS_FIT_FAILED = 4, 5

#: bounds of the restricted Tawn fits (δ, θ), as VineCopula's MLE_intern_Tawn (θ ≤ 20)
TAWN_DELTA_BOUNDS = (0.0, 1.0)
TAWN_THETA_BOUNDS = (1.0, 20.0)

CRITERIA = ("aic", "bic")
MARGINS = ("empirical", "parametric")


@dataclass(frozen=True)
class CopulaBlockResult:
    """Per-cell outputs of one block (1-D arrays of length ``cells``).

    ``family``: VineCopula code (int16, −1 where not fitted); ``par``, ``par2``, ``par3``: its
    parameters in VineCopula's sign convention (``par2`` = 0 for one-parameter families as in
    VineCopula; ``par3`` = 0: no VineCopula family has a third parameter); ``kendall_tau``,
    ``lower_tail_dependence``, ``upper_tail_dependence`` (VineCopula's convention: 0 for 90°/270°
    rotations); ``discordant_tail_dependence``: the larger of the two discordant-corner tail
    dependences (precipitation high & soil moisture low, or low & high); ``status`` (uint8);
    ``valid_pairs``: number of steps where both series are valid (int32, for every cell).
    """

    family: np.ndarray
    par: np.ndarray
    par2: np.ndarray
    par3: np.ndarray
    kendall_tau: np.ndarray
    lower_tail_dependence: np.ndarray
    upper_tail_dependence: np.ndarray
    discordant_tail_dependence: np.ndarray
    status: np.ndarray
    valid_pairs: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """The outputs by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@runtime_checkable
class CopulaBlockFitter(Protocol):
    """Fits a copula per cell of a block. Implementations must be picklable (worker processes)."""

    def fit_block(self, precipitation: np.ndarray, soil_moisture: np.ndarray) -> CopulaBlockResult:
        """Per-cell copula of ``(cells, time)`` precipitation and soil moisture."""
        ...


@dataclass(frozen=True)
class SelectedCopula:
    """The family chosen for one pair of series, in VineCopula's convention."""

    family: int
    par: float
    par2: float
    loglik: float
    criterion: float


def _penalty(criterion: str, n: int) -> float:
    return 2.0 if criterion == "aic" else float(np.log(n))


def pyvinecopulib_families(codes: tuple[int, ...]) -> list:
    """pyvinecopulib families of the non-Tawn VineCopula codes (rotations are pyvinecopulib's)."""
    import pyvinecopulib as pv

    bases = set(fam.split_codes(np.asarray(codes))[0].tolist()) - {fam.TAWN_TYPE1, fam.TAWN_TYPE2}
    return [getattr(pv.BicopFamily, fam.PYVINECOPULIB_NAME[b]) for b in sorted(bases)]


def _quadrant_correlation(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    if mask.sum() < 3:
        return np.nan
    a, b = x[mask], y[mask]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def tawn_candidates(u: np.ndarray, empirical_tau: float) -> tuple[int, ...]:
    """Tawn codes VineCopula's ``BiCopSelect`` (presel = TRUE) would fit to pseudo-obs ``u``.

    Rotations of the data's sign only; among those, the asymmetry of the normal scores in the
    two concordant (or discordant) quadrants picks the corner with the stronger dependence
    (VineCopula's thresholds ±0.05); without a clear asymmetry every rotation of that sign.
    """
    if empirical_tau == 0 or not np.isfinite(empirical_tau):
        return (104, 114, 124, 134, 204, 214, 224, 234)
    from scipy import stats  # here: importing scipy.stats costs seconds in every process

    x = stats.norm.ppf(u)
    if empirical_tau > 0:
        diff = (_quadrant_correlation(x[:, 0], x[:, 1], (x[:, 0] > 0) & (x[:, 1] > 0))
                - _quadrant_correlation(x[:, 0], x[:, 1], (x[:, 0] < 0) & (x[:, 1] < 0)))
        if diff > 0.05:
            return (104, 204)
        if diff < -0.05:
            return (114, 214)
        return (104, 114, 204, 214)
    diff = (_quadrant_correlation(x[:, 0], x[:, 1], (x[:, 0] > 0) & (x[:, 1] < 0))
            - _quadrant_correlation(x[:, 0], x[:, 1], (x[:, 0] < 0) & (x[:, 1] > 0)))
    if diff < -0.05:
        return (134, 234)
    if diff > 0.05:
        return (124, 224)
    return (124, 134, 224, 234)


def fit_tawn(u: np.ndarray, code: int, empirical_tau: float) -> tuple[float, float, float]:
    """ML fit of a VineCopula Tawn code (two parameters θ, δ; the other ψ fixed at 1).

    Maximises pyvinecopulib's Tawn log-likelihood over δ ∈ [0, 1], θ ∈ [1, 20] (SLSQP, started
    where VineCopula starts). Returns VineCopula ``(par, par2, loglik)``.
    """
    import pyvinecopulib as pv
    from scipy import optimize

    data = np.ascontiguousarray(u, dtype=float)
    base, rotation = (int(v[0]) for v in fam.split_codes([code]))
    if base not in (fam.TAWN_TYPE1, fam.TAWN_TYPE2):
        raise ValueError(f"{code} is not a Tawn code")
    sign = -1.0 if rotation in (90, 270) else 1.0
    delta_row = 0 if base == fam.TAWN_TYPE1 else 1  # [ψ1, ψ2, θ]: δ is ψ1 (type 1) or ψ2
    parameters = np.ones(3)

    def negative_loglik(x: np.ndarray) -> float:
        parameters[delta_row] = np.clip(x[0], *TAWN_DELTA_BOUNDS)
        parameters[2] = np.clip(x[1], *TAWN_THETA_BOUNDS)
        value = pv.Bicop(pv.BicopFamily.tawn, rotation, parameters.reshape(-1, 1)).loglik(data)
        return -value if np.isfinite(value) else 1e10

    tau = abs(empirical_tau)
    start = np.array([min(tau + 0.1, 0.999), min(1 + 6 * tau, TAWN_THETA_BOUNDS[1])])
    result = optimize.minimize(negative_loglik, start, method="SLSQP",
                               bounds=[TAWN_DELTA_BOUNDS, TAWN_THETA_BOUNDS])
    best_x, best_value = start, negative_loglik(start)
    if np.isfinite(result.fun) and result.fun <= best_value:
        best_x, best_value = result.x, float(result.fun)
    delta = float(np.clip(best_x[0], *TAWN_DELTA_BOUNDS))
    theta = float(np.clip(best_x[1], *TAWN_THETA_BOUNDS))
    return sign * theta, delta, -best_value


def select_copula(u1, u2, family_set: str = "all", criterion: str = "aic") -> SelectedCopula:
    """Fit every family of ``family_set`` by ML to pseudo-observations (u1, u2); pick by criterion.

    pyvinecopulib fits the families it shares with VineCopula (its pre-selection on, TLL off,
    rotations of the data's sign only); the Tawn types are fitted as VineCopula's restricted
    two-parameter families by ``fit_tawn`` and compete with their parameter count of 2.
    """
    import pyvinecopulib as pv

    data = np.ascontiguousarray(np.column_stack([u1, u2]), dtype=float)
    n = data.shape[0]
    codes = fam.family_set(family_set)
    penalty = _penalty(criterion, n)
    controls = pv.FitControlsBicop(family_set=pyvinecopulib_families(codes),
                                   parametric_method="mle", selection_criterion=criterion,
                                   preselect_families=True, allow_rotations=True, num_threads=1)
    bicop = pv.Bicop.from_data(data, controls=controls)
    loglik = float(bicop.loglik(data))
    code, par, par2 = fam.from_bicop(bicop)
    best = SelectedCopula(code, par, par2, loglik, -2 * loglik + penalty * float(bicop.npars))
    if any(c > 100 for c in codes):
        from scipy import stats

        empirical_tau = float(stats.kendalltau(data[:, 0], data[:, 1]).statistic)
        for tawn_code in tawn_candidates(data, empirical_tau):
            par, par2, loglik = fit_tawn(data, tawn_code, empirical_tau)
            value = -2 * loglik + penalty * 2
            if value < best.criterion:
                best = SelectedCopula(tawn_code, par, par2, loglik, value)
    return best


def distinct_counts(block: np.ndarray) -> np.ndarray:
    """Number of distinct finite values in each row of a ``(cells, time)`` block."""
    ordered = np.sort(np.asarray(block, dtype=float), axis=1)  # NaN sorts last
    with np.errstate(invalid="ignore"):
        steps = (np.diff(ordered, axis=1) > 0).sum(axis=1)
    return np.where(np.isfinite(ordered[:, 0]), steps + 1, 0)


def cell_status(precipitation: np.ndarray, soil_moisture: np.ndarray, min_observations: int,
                min_distinct_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell status before fitting (0 = to be fitted) and the number of valid pairs."""
    valid = np.isfinite(precipitation) & np.isfinite(soil_moisture)
    pairs = valid.sum(axis=1).astype(np.int32)
    distinct_p = distinct_counts(np.where(valid, precipitation, np.nan))
    distinct_sm = distinct_counts(np.where(valid, soil_moisture, np.nan))
    fewest = np.minimum(distinct_p, distinct_sm)
    status = np.select([pairs == 0, pairs < min_observations, fewest <= 1,
                        fewest < min_distinct_values],
                       [STATUS_NO_DATA, STATUS_TOO_FEW, STATUS_CONSTANT, STATUS_TIES],
                       STATUS_FITTED).astype(np.uint8)
    return status, pairs


@dataclass(frozen=True)
class FitterSettings:
    """Settings shared by the fitters, checked on creation (picklable plain values).

    ``family_set``: ``all`` (the 40 VineCopula families), ``one_parameter`` or ``gaussian_t``
    (``families.FAMILY_SETS``); ``criterion``: ``aic`` (the paper) or ``bic``; ``margins``:
    ``empirical`` (pseudo-observations, ties averaged as R's ``pobs``) or ``parametric`` (best of
    normal, lognormal, gamma, Weibull, GEV by AIC per cell and variable, point mass at zero for
    dry precipitation steps); ``min_observations``: fewest valid pairs to fit;
    ``min_distinct_values``: fewest distinct values per series to fit (status 4 below).
    """

    family_set: str = "all"
    criterion: str = "aic"
    margins: str = "empirical"
    min_observations: int = 15
    min_distinct_values: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "family_set", str(self.family_set).strip().lower())
        object.__setattr__(self, "criterion", str(self.criterion).strip().lower())
        object.__setattr__(self, "margins", str(self.margins).strip().lower())
        fam.family_set(self.family_set)  # raises InputError naming FAMILY_SET
        if self.criterion not in CRITERIA:
            raise InputError(f"CRITERION {self.criterion!r} is not one of {', '.join(CRITERIA)}")
        if self.margins not in MARGINS:
            raise InputError(f"MARGINS {self.margins!r} is not one of {', '.join(MARGINS)}")
        if int(self.min_observations) < 3:
            raise InputError(f"MIN_OBSERVATIONS must be at least 3, not {self.min_observations}")
        if int(self.min_distinct_values) < 2:
            raise InputError("the minimum number of distinct values must be at least 2, "
                             f"not {self.min_distinct_values}")



@dataclass(frozen=True)
class PyvinecopulibFitter(FitterSettings):
    """Per-cell loop of pyvinecopulib fits: the reference (``FitterSettings`` for the settings)."""

    def _uniforms(self, p: np.ndarray, sm: np.ndarray) -> np.ndarray:
        """(n, 2) uniforms of one cell's valid pairs."""
        if self.margins == "empirical":
            return np.column_stack([pseudo_observations(p), pseudo_observations(sm)])
        return np.column_stack([parametric_uniforms(p, point_mass_at_zero=True),
                                parametric_uniforms(sm, point_mass_at_zero=False)])

    def fit_block(self, precipitation: np.ndarray, soil_moisture: np.ndarray) -> CopulaBlockResult:
        """Per-cell copula of ``(cells, time)`` precipitation and soil moisture."""
        p, sm, status, pairs, code, par, par2 = start_block(self, precipitation, soil_moisture)
        valid = np.isfinite(p) & np.isfinite(sm)
        for cell in np.flatnonzero(status == STATUS_FITTED):
            keep = valid[cell]
            try:
                u = self._uniforms(p[cell, keep], sm[cell, keep])
                chosen = select_copula(u[:, 0], u[:, 1], self.family_set, self.criterion)
            except Exception:  # a bad cell never stops the block; it gets a status
                status[cell] = STATUS_FIT_FAILED
                continue
            if not (np.isfinite(chosen.par) and np.isfinite(chosen.par2)):
                status[cell] = STATUS_FIT_FAILED
                continue
            code[cell], par[cell], par2[cell] = chosen.family, chosen.par, chosen.par2
        return finish_block(code, par, par2, status, pairs)


def start_block(settings: FitterSettings, precipitation, soil_moisture):
    """Checked float blocks, status before fitting, valid pairs, and the empty (code, par,
    par2) outputs of a block."""
    p = np.asarray(precipitation, dtype=float)
    sm = np.asarray(soil_moisture, dtype=float)
    if p.shape != sm.shape or p.ndim != 2:
        raise ValueError(f"precipitation {p.shape} and soil moisture {sm.shape} must be "
                         "(cells, time) blocks of the same shape")
    cells = p.shape[0]
    status, pairs = cell_status(p, sm, int(settings.min_observations),
                                int(settings.min_distinct_values))
    code = np.full(cells, -1, dtype=np.int16)
    return p, sm, status, pairs, code, np.full(cells, np.nan), np.full(cells, np.nan)


def finish_block(code: np.ndarray, par: np.ndarray, par2: np.ndarray, status: np.ndarray,
                 pairs: np.ndarray) -> CopulaBlockResult:
    """τ and tail dependences of the chosen (code, par, par2); a cell whose outputs are not
    finite gets status 5; cells with a non-zero status are NaN / −1."""
    cells = code.shape[0]
    fitted = status == STATUS_FITTED
    tau = np.full(cells, np.nan)
    lower, upper, discordant = tau.copy(), tau.copy(), tau.copy()
    if fitted.any():
        args = (code[fitted], par[fitted], par2[fitted])
        tau[fitted] = kendall_tau(*args)
        lower[fitted], upper[fitted] = tail_dependence(*args)
        discordant[fitted] = np.maximum(*discordant_tail_dependence(*args))
        broken = fitted & ~(np.isfinite(tau) & np.isfinite(lower) & np.isfinite(upper)
                            & np.isfinite(discordant))
        status[broken] = STATUS_FIT_FAILED
        fitted &= ~broken
    code[~fitted] = -1
    for values in (par, par2, tau, lower, upper, discordant):
        values[~fitted] = np.nan
    return CopulaBlockResult(family=code, par=par, par2=par2,
                             par3=np.where(fitted, 0.0, np.nan), kendall_tau=tau,
                             lower_tail_dependence=lower, upper_tail_dependence=upper,
                             discordant_tail_dependence=discordant, status=status,
                             valid_pairs=pairs)


#: names of the fitters (the ``FITTER`` option): the compiled batched selection (default) and
#: the per-cell pyvinecopulib reference
FITTERS = ("batched", "reference")


def make_fitter(name: str = "batched", **settings) -> FitterSettings:
    """The fitter called ``name`` (``FITTERS``) with ``settings`` (``FitterSettings`` fields:
    family_set, criterion, margins, min_observations, min_distinct_values)."""
    key = str(name or "batched").strip().lower()
    if key == "reference":
        return PyvinecopulibFitter(**settings)
    if key == "batched":
        from .batched import BatchedFitter

        return BatchedFitter(**settings)
    raise InputError(f"FITTER {name!r} is not one of {', '.join(FITTERS)}")
