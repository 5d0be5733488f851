"""Kendall's τ and tail dependence of the 40 VineCopula families, vectorised over cells.

Inputs are arrays (broadcast together) of VineCopula codes and parameters in VineCopula's
convention (see ``families``); unknown codes (−1 = not fitted) and NaN parameters give NaN.

- τ: closed forms for independence, Gaussian, t, Clayton, Gumbel, Frank (Debye function through
  the dilogarithm; a series near θ = 0), Joe (digamma; a Taylor expansion around the removable
  singularity θ = 2), BB1, and BB6 (τ = 1 − (1 − τ_Joe(θ))/δ, which follows from the generator
  formula because BB6's generator is Joe's raised to the power δ). BB7, BB8 and Tawn are
  integrals, compiled in ``tau_integrals`` (one cell at a time). 90°/270° rotations have
  τ = −τ(base).
- Tail dependence follows VineCopula's ``BiCopPar2TailDep``: (λL, λU) of the unrotated family,
  swapped for 180° rotations, and 0 for 90°/270° rotations. BB8's upper tail is 2 − 2^(1/θ) only
  at δ = 1 exactly, as in VineCopula.
- Discordant-corner tail dependence is what VineCopula leaves out: the limits
  P(U1 > 1−s, U2 ≤ s)/s and P(U1 ≤ s, U2 > 1−s)/s as s → 0 (u1 = precipitation, u2 = soil
  moisture). A 90° rotation (C90(u1,u2) = u2 − C(1−u1, u2)) carries the base's λL in the first
  corner and its λU in the second; a 270° rotation the other way round. The t copula has tail
  dependence in both discordant corners for every ρ; the other unrotated and 180° families have
  none.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .families import (BB1, BB6, BB7, BB8, CLAYTON, FRANK, GAUSSIAN, GUMBEL, INDEPENDENCE, JOE,
                       STUDENT, TAWN_TYPE1, TAWN_TYPE2, split_codes)
from .tau_integrals import BB7_INTEGRAL, BB8_INTEGRAL, bb_tau_values, tawn_tau_values



def _base_parameters(family, par, par2):
    """Broadcast inputs; unrotated family, rotation and positive base parameters (θ, δ)."""
    family, par, par2 = np.broadcast_arrays(np.asarray(family), np.asarray(par, dtype=float),
                                            np.asarray(par2, dtype=float))
    base, rotation = split_codes(family)
    negated = (rotation == 90) | (rotation == 270)
    theta = np.where(negated, -par, par)
    tawn = (base == TAWN_TYPE1) | (base == TAWN_TYPE2)
    delta = np.where(negated & ~tawn, -par2, par2)
    return base, rotation, theta.astype(float), delta.astype(float)


# ----------------------------------------------------------------------------------------- τ
def _frank_tau(theta: np.ndarray) -> np.ndarray:
    """τ of Frank: 1 − 4/θ + 4·D1(θ)/θ, odd in θ, → 0 as θ → 0."""
    a = np.abs(theta)
    out = np.zeros_like(a)
    small = a < 1e-2
    x = a[small]
    out[small] = x / 9 - x ** 3 / 900 + x ** 5 / 52920
    x = a[~small]
    # ∫0^x t/(e^t − 1) dt = π²/6 + x·log(1 − e^−x) − Li2(e^−x); Li2(z) = spence(1 − z)
    debye_integral = np.pi ** 2 / 6 + x * np.log(-np.expm1(-x)) - special.spence(-np.expm1(-x))
    out[~small] = 1 - 4 / x + 4 * debye_integral / x ** 2
    return np.sign(theta) * out


def _joe_tau(theta: np.ndarray) -> np.ndarray:
    """τ of Joe: 1 + 2/(2−θ)·(ψ(2) − ψ(1 + 2/θ)); the limit 1 − ψ′(2) at θ = 2."""
    h = theta - 2.0
    near = np.abs(h) < 1e-5
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1 + 2 / (2 - theta) * (special.digamma(2.0) - special.digamma(1 + 2 / theta))
    # Taylor expansion of the removable singularity: τ ≈ 1 − ψ′(2) − f″(2)·(θ − 2)
    f2 = -special.polygamma(2, 2.0) / 4 - special.polygamma(1, 2.0) / 2
    out[near] = 1 - special.polygamma(1, 2.0) - f2 * h[near]
    return out


def _base_tau(base, theta, delta) -> np.ndarray:
    """τ of the unrotated family with positive parameters (θ, δ) (Gaussian/t: ρ in θ)."""
    tau = np.full(base.shape, np.nan)
    ok = np.isfinite(theta) & (np.isfinite(delta) | np.isin(base, (GAUSSIAN, CLAYTON, GUMBEL,
                                                                      FRANK, JOE)))
    tau[base == INDEPENDENCE] = 0.0
    sel = ok & ((base == GAUSSIAN) | (base == STUDENT))
    tau[sel] = 2 / np.pi * np.arcsin(theta[sel])
    sel = ok & (base == CLAYTON)
    tau[sel] = theta[sel] / (theta[sel] + 2)
    sel = ok & (base == GUMBEL)
    tau[sel] = 1 - 1 / theta[sel]
    sel = ok & (base == FRANK)
    tau[sel] = _frank_tau(theta[sel])
    sel = ok & (base == JOE)
    tau[sel] = _joe_tau(theta[sel])
    sel = ok & (base == BB1)
    tau[sel] = 1 - 2 / (delta[sel] * (theta[sel] + 2))
    sel = ok & (base == BB6)
    tau[sel] = 1 - (1 - _joe_tau(theta[sel])) / delta[sel]
    sel = ok & (base == BB7)
    tau[sel] = bb_tau_values(BB7_INTEGRAL, theta[sel], delta[sel])
    sel = ok & (base == BB8)
    tau[sel] = bb_tau_values(BB8_INTEGRAL, theta[sel], delta[sel])
    sel = ok & (base == TAWN_TYPE1)
    tau[sel] = tawn_tau_values(delta[sel], np.ones(int(sel.sum())), theta[sel])
    sel = ok & (base == TAWN_TYPE2)
    tau[sel] = tawn_tau_values(np.ones(int(sel.sum())), delta[sel], theta[sel])
    return tau


def kendall_tau(family, par, par2=0.0) -> np.ndarray:
    """Kendall's τ of VineCopula families ``family`` with parameters ``par``, ``par2``."""
    base, rotation, theta, delta = _base_parameters(family, par, par2)
    tau = _base_tau(base.ravel(), theta.ravel(), delta.ravel()).reshape(base.shape)
    return np.where((rotation == 90) | (rotation == 270), -tau, tau)


# ------------------------------------------------------------------------- tail dependence
def _student_tail(rho, nu, discordant: bool = False) -> np.ndarray:
    """2·t_{ν+1}(−√((ν+1)(1∓ρ)/(1±ρ))): concordant corners (−) or discordant corners (+)."""
    r = -rho if discordant else rho
    with np.errstate(divide="ignore", invalid="ignore"):
        x = -np.sqrt((nu + 1) * (1 - r) / (1 + r))
    return 2 * special.stdtr(nu + 1, x)


def _base_tails(base, theta, delta) -> tuple[np.ndarray, np.ndarray]:
    """(λL, λU) of the unrotated family with positive parameters."""
    lower = np.full(base.shape, np.nan)
    upper = np.full(base.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        zero = np.isin(base, (INDEPENDENCE, GAUSSIAN, FRANK))
        lower[zero] = upper[zero] = 0.0
        sel = base == STUDENT
        lower[sel] = upper[sel] = _student_tail(theta[sel], delta[sel])
        sel = base == CLAYTON
        lower[sel], upper[sel] = 2.0 ** (-1 / theta[sel]), 0.0
        sel = (base == GUMBEL) | (base == JOE)
        lower[sel], upper[sel] = 0.0, 2 - 2.0 ** (1 / theta[sel])
        sel = base == BB1
        lower[sel] = 2.0 ** (-1 / (theta[sel] * delta[sel]))
        upper[sel] = 2 - 2.0 ** (1 / delta[sel])
        sel = base == BB6
        lower[sel], upper[sel] = 0.0, 2 - 2.0 ** (1 / (theta[sel] * delta[sel]))
        sel = base == BB7
        lower[sel], upper[sel] = 2.0 ** (-1 / delta[sel]), 2 - 2.0 ** (1 / theta[sel])
        sel = base == BB8
        lower[sel] = 0.0
        upper[sel] = np.where(delta[sel] == 1.0, 2 - 2.0 ** (1 / theta[sel]), 0.0)
        sel = (base == TAWN_TYPE1) | (base == TAWN_TYPE2)
        lower[sel] = 0.0
        upper[sel] = 1 + delta[sel] - (1 + delta[sel] ** theta[sel]) ** (1 / theta[sel])
    bad = ~np.isfinite(theta) | (~np.isfinite(delta) & ~np.isin(base, (INDEPENDENCE, GAUSSIAN,
                                                                     CLAYTON, GUMBEL, FRANK, JOE)))
    lower[bad] = upper[bad] = np.nan
    return lower, upper


def tail_dependence(family, par, par2=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(λL, λU) as VineCopula's ``BiCopPar2TailDep``: 0 and 0 for 90°/270° rotations."""
    base, rotation, theta, delta = _base_parameters(family, par, par2)
    lower, upper = _base_tails(base, theta, delta)
    survival = rotation == 180
    lower, upper = np.where(survival, upper, lower), np.where(survival, lower, upper)
    discordant = (rotation == 90) | (rotation == 270)
    lower = np.where(discordant & np.isfinite(lower), 0.0, lower)
    upper = np.where(discordant & np.isfinite(upper), 0.0, upper)
    return lower, upper


def discordant_tail_dependence(family, par, par2=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Tail dependence in the discordant corners: (u1 high & u2 low, u1 low & u2 high).

    Non-zero for 90°/270° rotations with a tail and for the t copula; 0 for other families.
    """
    base, rotation, theta, delta = _base_parameters(family, par, par2)
    lower, upper = _base_tails(base, theta, delta)
    high_low = np.where(np.isfinite(lower), 0.0, np.nan)
    low_high = high_low.copy()
    r90, r270 = rotation == 90, rotation == 270
    high_low = np.where(r90, lower, np.where(r270, upper, high_low))
    low_high = np.where(r90, upper, np.where(r270, lower, low_high))
    student = base == STUDENT
    if student.any():
        with np.errstate(invalid="ignore"):
            t_tail = _student_tail(theta, delta, discordant=True)
        high_low = np.where(student, t_tail, high_low)
        low_high = np.where(student, t_tail, low_high)
    return high_low, low_high
