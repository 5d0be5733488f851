"""Per-cell maximum likelihood, compiled: bounded Newton for the Archimedean and Tawn families,
a profile over ν for Student t, a closed-form-statistics search for the Gaussian.

- ``newton_fit``: Newton's method on the log-likelihood with the exact gradient and Hessian of
  ``densities.loglik_dual``, inside box bounds: a parameter at a bound whose gradient points
  outwards is held there (active set), a Hessian that is not negative definite is shifted until
  it is (Levenberg–Marquardt), every step is backtracked until the log-likelihood increases.
  It starts from the best of a few starting points (``starting_values``).
- ``student_profile``: the t log-likelihood maximised over ρ (Newton, analytic derivatives)
  for each ν of a grid, on t quantiles looked up in a table computed once per block
  (``t_tables``); then a parabola through the best grid point and its neighbours in log ν.
  ``student_rho`` maximises over ρ for given quantiles (the polish at the parabola's ν).
- ``gaussian_fit``: ℓ(ρ) = −n/2·log(1−ρ²) − (ρ²S − 2ρP)/(2(1−ρ²)), S = Σ(x²+y²), P = Σxy of the
  normal scores; grid then golden section.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .densities import compiled, loglik_dual

MAX_NEWTON = 60
BACKTRACKS = 30
#: log-likelihood margin of the early stop of candidates that cannot be selected
PRUNE_MARGIN = 3.0


@compiled
def _clip(x, lo, hi):
    return min(max(x, lo), hi)


@compiled
def _evaluate(family, x0, x1, d, n):
    ll = loglik_dual(family, x0, x1, d, n)
    if not math.isfinite(ll[0]):
        return -np.inf, 0.0, 0.0, 0.0, 0.0, 0.0
    return ll


@compiled
def newton_fit(family, starts, lower, upper, two, d, n, needed):
    """ML (θ, δ) of ``family`` on the ``n`` pairs of ``d``; returns (θ, δ, log-likelihood).

    ``starts``: (k, 2) starting points, the best of which is refined (with more than three,
    the best two); ``lower``, ``upper``:
    bounds; ``two``: whether δ is free (else it stays at ``starts[0, 1]``). ``needed``: the
    log-likelihood the family must exceed to be selected; once the Newton model's maximum
    plus a wide margin (``PRUNE_MARGIN`` and twice the predicted gain) stays below it, the fit
    stops and returns −inf (−inf: never stop).
    """
    k_starts = starts.shape[0]
    points = np.empty((k_starts, 2))
    evaluations = np.empty((k_starts, 6))  # each start's (f, gradient, Hessian), reused
    for k in range(k_starts):
        points[k, 0] = _clip(starts[k, 0], lower[0], upper[0])
        points[k, 1] = _clip(starts[k, 1], lower[1], upper[1]) if two else starts[k, 1]
    evaluations[0] = _evaluate(family, points[0, 0], points[0, 1], d, n)
    if needed > -np.inf:  # a hopeless candidate is usually plain from the first start already
        f, g0, g1, h00, h01, h11 = evaluations[0]
        det = h00 * h11 - h01 * h01 if two else -h00
        if h00 < 0 and det > 0:
            # the Newton step's g·s = gᵀ(−H)⁻¹g
            gain = -(h11 * g0 * g0 - 2.0 * h01 * g0 * g1 + h00 * g1 * g1) / det if two else (
                -g0 * g0 / h00)
            if f + 1.5 * gain + PRUNE_MARGIN < needed:
                return points[0, 0], points[0, 1], -np.inf
    for k in range(1, k_starts):
        evaluations[k] = _evaluate(family, points[k, 0], points[k, 1], d, n)
    order = np.argsort(-evaluations[:, 0])
    if evaluations[order[0], 0] == -np.inf:
        return starts[0, 0], starts[0, 1], -np.inf
    # Newton from the best start; with many starts (a multimodal family) from the second too
    best0, best1, best = 0.0, 0.0, -np.inf
    for r in range(2 if k_starts > 3 else 1):
        k = order[r]
        if evaluations[k, 0] == -np.inf:
            break
        x0, x1, f = _newton(family, points[k, 0], points[k, 1], evaluations[k], lower, upper,
                            two, d, n, needed)
        if f > best:
            best0, best1, best = x0, x1, f
    return best0, best1, best


@compiled
def _newton(family, x0, x1, start, lower, upper, two, d, n, needed):
    """Newton iterations of ``newton_fit`` from (x0, x1), where ``_evaluate`` gave ``start``."""
    f, g0, g1, h00, h01, h11 = start[0], start[1], start[2], start[3], start[4], start[5]
    span0, span1 = upper[0] - lower[0], upper[1] - lower[1]
    step, gain = 0.0, 0.0
    for _ in range(MAX_NEWTON):
        free0 = not ((x0 <= lower[0] and g0 < 0) or (x0 >= upper[0] and g0 > 0))
        free1 = two and not ((x1 <= lower[1] and g1 < 0) or (x1 >= upper[1] and g1 > 0))
        s0, s1 = 0.0, 0.0
        if free0 and free1:
            # shift the Hessian until negative definite, then s = −H⁻¹g
            mean, half = 0.5 * (h00 + h11), 0.5 * (h00 - h11)
            top = mean + math.sqrt(half * half + h01 * h01)  # largest eigenvalue
            bottom = mean - math.sqrt(half * half + h01 * h01)
            shift = 0.0
            if top >= -1e-10 * (abs(bottom) + 1e-300):
                shift = top + max(1e-3 * abs(bottom), 1e-8)
            a00, a11 = h00 - shift, h11 - shift
            det = a00 * a11 - h01 * h01
            if det > 0 and math.isfinite(det):
                s0 = -(a11 * g0 - h01 * g1) / det
                s1 = -(-h01 * g0 + a00 * g1) / det
                if shift == 0.0 and f + 1.5 * (g0 * s0 + g1 * s1) + PRUNE_MARGIN < needed:
                    return x0, x1, -np.inf
            else:
                s0, s1 = g0 * 1e-3 * span0, g1 * 1e-3 * span1
        elif free0:
            s0 = -g0 / h00 if h00 < 0 else math.copysign(0.05 * span0, g0)
            if h00 < 0 and f + 1.5 * g0 * s0 + PRUNE_MARGIN < needed:
                return x0, x1, -np.inf
        elif free1:
            s1 = -g1 / h11 if h11 < 0 else math.copysign(0.05 * span1, g1)
        else:
            break
        # at most a quarter of each parameter's range per step
        limit = 1.0
        if abs(s0) > 0.25 * span0:
            limit = min(limit, 0.25 * span0 / abs(s0))
        if abs(s1) > 0.25 * span1:
            limit = min(limit, 0.25 * span1 / abs(s1))
        s0 *= limit
        s1 *= limit
        if g0 * s0 + g1 * s1 < 1e-9:  # predicted gain below the tolerance: converged
            break
        alpha = 1.0
        moved = False
        for _ in range(BACKTRACKS):
            y0 = _clip(x0 + alpha * s0, lower[0], upper[0])
            y1 = _clip(x1 + alpha * s1, lower[1], upper[1]) if two else x1
            if y0 == x0 and y1 == x1:
                break
            trial = _evaluate(family, y0, y1, d, n)
            if trial[0] > f:
                step = max(abs(y0 - x0) / (1.0 + abs(x0)), abs(y1 - x1) / (1.0 + abs(x1)))
                gain = trial[0] - f
                x0, x1 = y0, y1
                f, g0, g1, h00, h01, h11 = trial
                moved = True
                break
            alpha *= 0.5
        if not moved or (step < 1e-10) or (gain < 1e-11 and step < 1e-6):
            break
    return x0, x1, f


# ------------------------------------------------------------------------------- Gaussian
@compiled
def _gaussian_loglik(rho, n, s, p):
    q = 1.0 - rho * rho
    return -0.5 * n * math.log(q) - (rho * rho * s - 2.0 * rho * p) / (2.0 * q)


@compiled
def gaussian_fit(z1, z2, n):
    """ML ρ of the Gaussian copula on normal scores; returns (ρ, log-likelihood)."""
    s, p = 0.0, 0.0
    for i in range(n):
        s += z1[i] * z1[i] + z2[i] * z2[i]
        p += z1[i] * z2[i]
    grid = 199
    best, best_rho = -np.inf, 0.0
    for k in range(grid):
        rho = -0.995 + 1.99 * k / (grid - 1)
        value = _gaussian_loglik(rho, n, s, p)
        if value > best:
            best, best_rho = value, rho
    lo, hi = max(best_rho - 0.01, -0.9999999), min(best_rho + 0.01, 0.9999999)
    ratio = 0.5 * (math.sqrt(5.0) - 1.0)
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _gaussian_loglik(a, n, s, p), _gaussian_loglik(b, n, s, p)
    for _ in range(80):
        if fa > fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _gaussian_loglik(a, n, s, p)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _gaussian_loglik(b, n, s, p)
        if hi - lo < 1e-12:
            break
    rho = 0.5 * (lo + hi)
    return rho, _gaussian_loglik(rho, n, s, p)


# ------------------------------------------------------------------------------- Student t
#: ν grid of the profile: geometric from pyvinecopulib's bound 2 to its bound 50
T_GRID = np.geomspace(2.0, 50.0, 61)
T_LOWER, T_UPPER = 2.0, 50.0
RHO_LIMIT = 1.0 - 1e-10


def t_tables(values: np.ndarray, nus: np.ndarray = T_GRID) -> tuple[np.ndarray, np.ndarray]:
    """t quantiles x = t_ν⁻¹(values) (ν, value) and the margins' log-density terms
    (ν+1)/2·log(1 + x²/ν) for every ν of ``nus``."""
    quantiles = special.stdtrit(nus[:, None], values[None, :])
    margin = 0.5 * (nus[:, None] + 1) * np.log1p(quantiles ** 2 / nus[:, None])
    return quantiles, margin


def t_constants(nus: np.ndarray) -> np.ndarray:
    """log Γ((ν+2)/2) + log Γ(ν/2) − 2 log Γ((ν+1)/2) of each ν."""
    return special.gammaln((nus + 2) / 2) + special.gammaln(nus / 2) - 2 * special.gammaln(
        (nus + 1) / 2)


@compiled
def student_rho(x1, x2, margin_sum, constant, nu, n, rho):
    """max over ρ of the t log-likelihood at ν for quantiles x1, x2 (Newton from ``rho``).

    ``margin_sum``: Σ (ν+1)/2·(log(1 + x1²/ν) + log(1 + x2²/ν)); ``constant``: ``t_constants``.
    Returns (ρ, log-likelihood).
    """
    half = 0.5 * (nu + 2.0)
    best_rho, best = rho, -np.inf
    for _ in range(30):
        s = 1.0 - rho * rho
        value, d1, d2 = 0.0, 0.0, 0.0
        for i in range(n):
            a, b = x1[i], x2[i]
            q = a * a + b * b - 2.0 * rho * a * b
            g = q / (nu * s)
            num = -2.0 * a * b * s + 2.0 * rho * q
            g1 = num / (nu * s * s)
            g2 = (2.0 * q * s + 4.0 * rho * num) / (nu * s * s * s)
            value += math.log1p(g)
            r = g1 / (1.0 + g)
            d1 += r
            d2 += g2 / (1.0 + g) - r * r
        value = n * (constant - 0.5 * math.log(s)) - half * value + margin_sum
        grad = n * rho / s - half * d1
        hess = n * (1.0 + rho * rho) / (s * s) - half * d2
        if value > best:
            best, best_rho = value, rho
        elif value < best - 1e-12:
            rho = 0.5 * (rho + best_rho)  # overshot: back half-way
            continue
        step = -grad / hess if hess < 0 else math.copysign(0.05, grad)
        step = max(min(step, 0.2), -0.2)
        new = _clip(rho + step, -RHO_LIMIT, RHO_LIMIT)
        if abs(new - rho) < 1e-9:
            break
        rho = new
    return best_rho, best


@compiled
def _t_at(g, quantiles, margin, constants, nus, i1, i2, n, rho, x1, x2):
    total = 0.0
    for i in range(n):
        x1[i] = quantiles[g, i1[i]]
        x2[i] = quantiles[g, i2[i]]
        total += margin[g, i1[i]] + margin[g, i2[i]]
    return student_rho(x1, x2, total, constants[g], nus[g], n, rho)


@compiled
def student_profile(quantiles, margin, constants, nus, i1, i2, n, rho0, needed):
    """Profile fit of the t copula over the ν grid. ``quantiles``, ``margin``: ``t_tables`` of
    the block's distinct uniforms; ``i1``, ``i2``: index of each pair's uniforms in them.

    Returns (ρ, ν, log-likelihood) at the best grid ν and ν̂ of the parabola in log ν (= the
    grid ν at a bound); log-likelihood −inf when the coarse grid's best plus a wide margin stays
    below ``needed`` (the candidate cannot be selected).
    """
    grid = nus.shape[0]
    x1 = np.empty(n)
    x2 = np.empty(n)
    values = np.full(grid, -np.inf)
    rhos = np.zeros(grid)
    rho = rho0
    for g in range(0, grid, 6):
        rhos[g], values[g] = _t_at(g, quantiles, margin, constants, nus, i1, i2, n, rho, x1, x2)
        rho = rhos[g]
    best = int(np.argmax(values))
    if values[best] + 2.0 * PRUNE_MARGIN < needed:
        return rhos[best], nus[best], -np.inf, nus[best]
    for _ in range(grid):  # walk to the best grid point (a local maximum of the profile)
        moved = False
        for g in (best - 1, best + 1, best - 2, best + 2, best - 3, best + 3):
            if 0 <= g < grid and values[g] == -np.inf:
                rhos[g], values[g] = _t_at(g, quantiles, margin, constants, nus, i1, i2, n,
                                           rhos[best], x1, x2)
        for g in range(max(best - 3, 0), min(best + 4, grid)):
            if values[g] > values[best]:
                best, moved = g, True
        if not moved:
            break
    nu_hat = nus[best]
    if 0 < best < grid - 1:
        a, b, c = math.log(nus[best - 1]), math.log(nus[best]), math.log(nus[best + 1])
        fa, fb, fc = values[best - 1], values[best], values[best + 1]
        den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
        if den != 0 and math.isfinite(den):
            top = b - 0.5 * ((b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)) / den
            nu_hat = math.exp(min(max(top, a), c))
    return rhos[best], nus[best], values[best], nu_hat
