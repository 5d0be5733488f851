"""Kendall's τ and tail dependence of all 40 VineCopula codes, against independent computations.

References are computed here from the definitions in COPULA_FAMILIES.md, never with the
production formulas nor with pyvinecopulib:
- τ of Archimedean families: 1 + 4∫φ/φ′ with the spec's generator φ and φ′ by complex-step
  differentiation, integrated by scipy.integrate.quad; Tawn: ∫ t(1−t)A″/A with A″ written out;
  Gaussian: 4·Φ2(0, 0; ρ) − 1 (orthant probability, scipy's bivariate normal); t: Monte Carlo.
- λ as limits of the copula itself: C(s,s)/s at tiny s (lower), (2s − 1 + C(1−s,1−s))/s at
  s = 2^-26 (upper), and the discordant corners from VineCopula's rotated CDFs
  (C90 = u2 − C(1−u1, u2), C270 = u1 − C(u1, 1−u2)); the t copula's by 1-D integration of its
  conditional distribution.
The mapping to pyvinecopulib is checked by comparing its CDF with VineCopula's CDF definitions.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from soilp_qgis.copula import families as fam
from soilp_qgis.copula.dependence import (discordant_tail_dependence, kendall_tau,
                                          tail_dependence)

# ------------------------------------------------------------------ generators from the spec
# φ written with complex-safe numpy functions (for the complex-step derivative) and with
# log1p/expm1 so that neither end of (0, 1) loses digits; ψ = φ⁻¹ for the tail limits.


def log1p(z):
    """log(1 + z), accurate for small |z| also for complex z (numpy's complex log1p is not)."""
    if np.iscomplexobj(z):
        return (0.5 * np.log1p(2 * z.real + z.real ** 2 + z.imag ** 2)
                + 1j * np.arctan2(z.imag, 1 + z.real))
    return np.log1p(z)


def expm1(z):
    """e^z − 1, accurate for small |z| also for complex z."""
    if np.iscomplexobj(z):
        return (np.expm1(z.real) * np.cos(z.imag) - 2 * np.sin(z.imag / 2) ** 2
                + 1j * np.exp(z.real) * np.sin(z.imag))
    return np.expm1(z)


def log1mexp(a):
    """log(1 − e^a) for a < 0, accurate at both ends (complex-safe: branches on the real part)."""
    if np.real(a) > -np.log(2.0):
        return np.log(-expm1(a))
    return log1p(-np.exp(a))


def phi(base, t, th, de=None):
    if base == 3:
        return expm1(-th * np.log(t)) / th
    if base == 4:
        return (-np.log(t)) ** th
    if base == 5 and th > 0:  # −log((1 − e^(−θt))/(1 − e^(−θ)))
        return -log1mexp(-th * t) + log1mexp(-th)
    if base == 5:
        return -np.log(expm1(-th * t) / expm1(-th))
    if base == 6:
        return -log1mexp(th * log1p(-t))
    if base == 7:
        return expm1(-th * np.log(t)) ** de
    if base == 8:
        return (-log1mexp(th * log1p(-t))) ** de
    if base == 9:
        return expm1(-de * log1mexp(th * log1p(-t)))
    if base == 10:
        return -log1mexp(th * log1p(-de * t)) + log1mexp(th * log1p(-de))
    raise ValueError(base)


def psi(base, y, th, de=None):
    if base == 3:
        return np.exp(-np.log1p(th * y) / th)
    if base == 4:
        return np.exp(-y ** (1 / th))
    if base == 5:
        return -np.log1p(np.exp(-y) * np.expm1(-th)) / th
    if base == 6:
        return -np.expm1(log1mexp(-y) / th)
    if base == 7:
        return np.exp(-np.log1p(y ** (1 / de)) / th)
    if base == 8:
        return -np.expm1(log1mexp(-y ** (1 / de)) / th)
    if base == 9:
        return -np.expm1(log1mexp(-np.log1p(y) / de) / th)
    if base == 10:
        log_eta = log1mexp(th * np.log1p(-de))
        return -np.expm1(log1mexp(log_eta - y) / th) / de
    raise ValueError(base)


def tawn_pickands(t, th, psi1, psi2):
    power_sum = (psi1 * (1 - t)) ** th + (psi2 * t) ** th
    return (1 - psi1) * (1 - t) + (1 - psi2) * t + power_sum ** (1 / th)


def vinecopula_tawn_c(u, v, th, par2, par3):
    """VineCopula's TawnC: A(w) = (1−par2)(1−w) + (1−par3)w + ((par3 w)^θ + (par2(1−w))^θ)^(1/θ)."""
    w = np.log(v) / np.log(u * v)
    return np.exp(np.log(u * v) * tawn_pickands(w, th, par2, par3))


def base_cdf(base, u, v, th, de=None):
    """C(u, v) of an unrotated family (VineCopula parameters θ = par, δ = par2)."""
    if base == 0:
        return u * v
    if base == 1:
        mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, th], [th, 1]])
        return mvn.cdf(np.column_stack([stats.norm.ppf(u), stats.norm.ppf(v)]))
    if base == 2:
        mvt = stats.multivariate_t(loc=[0, 0], shape=[[1, th], [th, 1]], df=de)
        x = np.column_stack([stats.t.ppf(u, de), stats.t.ppf(v, de)])
        return np.array([mvt.cdf(row, random_state=1, maxpts=200000) for row in x])
    if base == 104:
        return vinecopula_tawn_c(u, v, th, de, 1.0)
    if base == 204:
        return vinecopula_tawn_c(u, v, th, 1.0, de)
    return np.array([psi(base, phi(base, a, th, de) + phi(base, b, th, de), th, de)
                     for a, b in zip(np.ravel(u), np.ravel(v))])


def vinecopula_cdf(code, u, v, par, par2):
    """BiCopCDF of VineCopula, rotations as its R code (rotated Tawn: par2/par3 swapped)."""
    base, rotation = (int(x[0]) for x in fam.split_codes([code]))
    if base in (104, 204) and rotation in (90, 270):
        base = 204 if base == 104 else 104  # VineCopula's 124/134 use par3 = δ, 224/234 par2 = δ
    th, de = (-par, par2) if base in (104, 204) and rotation in (90, 270) else (
        (-par, -par2) if rotation in (90, 270) else (par, par2))
    if rotation == 0:
        return base_cdf(base, u, v, th, de)
    if rotation == 180:
        return u + v - 1 + base_cdf(base, 1 - u, 1 - v, th, de)
    if rotation == 90:
        return v - base_cdf(base, 1 - u, v, th, de)
    return u - base_cdf(base, u, 1 - v, th, de)


# ---------------------------------------------------------------------- parameter grids
# VineCopula parameter ranges of the unrotated families, boundaries (or their limits) included
GRID = {
    3: [(1e-4, 0), (0.01, 0), (0.5, 0), (2.0, 0), (10.0, 0), (28.0, 0)],
    4: [(1.0, 0), (1.0001, 0), (1.5, 0), (3.0, 0), (10.0, 0), (17.0, 0)],
    5: [(-35.0, 0), (-10.0, 0), (-1.0, 0), (-1e-3, 0), (1e-6, 0), (1e-3, 0), (0.0099, 0),
        (0.0101, 0), (0.5, 0), (5.0, 0), (35.0, 0)],
    6: [(1.0, 0), (1.0001, 0), (1.5, 0), (1.99999, 0), (2.0, 0), (2.000001, 0), (2.5, 0),
        (10.0, 0), (30.0, 0)],
    7: [(1e-3, 1.0), (0.5, 1.0), (7.0, 1.0), (0.5, 7.0), (7.0, 7.0), (2.0, 3.0)],
    8: [(1.0, 1.0), (1.0, 8.0), (6.0, 1.0), (6.0, 8.0), (2.0, 3.0), (1.0001, 1.0001)],
    9: [(1.0, 0.01), (1.0, 75.0), (6.0, 0.01), (6.0, 75.0), (2.0, 2.0), (3.0, 0.5)],
    10: [(1.0, 1e-4), (1.0, 1.0), (8.0, 1e-4), (8.0, 1.0), (3.0, 0.5), (2.0, 0.999)],
    104: [(1.0, 0.5), (20.0, 0.0), (20.0, 1.0), (2.0, 0.5), (5.0, 0.3), (60.0, 0.7),
          (1.0001, 1.0), (3.0, 1e-3)],
}
GRID[204] = GRID[104]
ROTATED_BASES = (3, 4, 6, 7, 8, 9, 10, 104, 204)


def rotations_of(base):
    offsets = (0, 10, 20, 30) if base in ROTATED_BASES else (0,)
    return [base + o for o in offsets]


def vinecopula_parameters(code, th, de):
    """VineCopula's (par, par2) of a code from the unrotated family's (θ, δ)."""
    _, rotation = (int(x[0]) for x in fam.split_codes([code]))
    if rotation in (90, 270):
        return (-th, de) if code > 100 else (-th, -de)
    return th, de


def reference_tau_archimedean(base, th, de):
    h = 1e-30

    def ratio(t):
        value = phi(base, t, th, de)
        slope = np.imag(phi(base, t + 1j * h, th, de)) / h
        r = value / slope
        return r if np.isfinite(r) else 0.0  # φ/φ′ → 0 at both ends

    with np.errstate(all="ignore"):
        integral, _ = integrate.quad(ratio, 0, 1, epsabs=1e-13, epsrel=1e-12, limit=500)
    return 1 + 4 * integral


def reference_tau_tawn(th, psi1, psi2):
    def integrand(t):
        s = (psi1 * (1 - t)) ** th + (psi2 * t) ** th
        ds = th * (psi2 * (psi2 * t) ** (th - 1) - psi1 * (psi1 * (1 - t)) ** (th - 1))
        d2s = th * (th - 1) * (psi2 ** 2 * (psi2 * t) ** (th - 2)
                               + psi1 ** 2 * (psi1 * (1 - t)) ** (th - 2))
        d2a = (1 / th) * ((1 / th - 1) * s ** (1 / th - 2) * ds ** 2 + s ** (1 / th - 1) * d2s)
        value = t * (1 - t) * d2a / tawn_pickands(t, th, psi1, psi2)
        return value if np.isfinite(value) else 0.0

    kink = psi1 / (psi1 + psi2)
    with np.errstate(all="ignore"):
        integral, _ = integrate.quad(integrand, 0, 1, points=[kink] if 0 < kink < 1 else None,
                                     epsabs=1e-13, epsrel=1e-12, limit=500)
    return integral


# ---------------------------------------------------------------------------------- τ tests
@pytest.mark.parametrize("base", [3, 4, 5, 6, 7, 8, 9, 10])
def test_tau_archimedean_against_generator_integral(base):
    for th, de in GRID[base]:
        expected = reference_tau_archimedean(base, th, de)
        for code in rotations_of(base):
            par, par2 = vinecopula_parameters(code, th, de)
            sign = -1 if code - base in (20, 30) else 1
            got = kendall_tau(code, par, par2)
            assert got == pytest.approx(sign * expected, abs=2e-9), (code, th, de)


@pytest.mark.parametrize("base", [104, 204])
def test_tau_tawn_against_pickands_integral(base):
    for th, de in GRID[base]:
        psi1, psi2 = (de, 1.0) if base == 104 else (1.0, de)
        expected = reference_tau_tawn(th, psi1, psi2)
        for code in rotations_of(base):
            par, par2 = vinecopula_parameters(code, th, de)
            sign = -1 if code - base in (20, 30) else 1
            assert kendall_tau(code, par, par2) == pytest.approx(sign * expected, abs=2e-9), (
                code, th, de)


def test_tau_closed_form_limits():
    # Frank θ → 0: τ ≈ θ/9; Joe θ = 2: 2 − π²/6; BB8 δ = 1 is Joe; BB6 θ = 1 is Gumbel(δ);
    # Tawn δ = 1 is Gumbel, δ = 0 or θ = 1 is independence; BB7 θ = 1 is Clayton(δ)
    assert kendall_tau(5, 1e-8) == pytest.approx(1e-8 / 9, rel=1e-6)
    assert kendall_tau(5, -1e-8) == pytest.approx(-1e-8 / 9, rel=1e-6)
    assert kendall_tau(6, 2.0) == pytest.approx(2 - np.pi ** 2 / 6, abs=1e-14)
    assert kendall_tau(6, 1.0) == pytest.approx(0.0, abs=1e-14)
    assert kendall_tau(10, 8.0, 1.0) == pytest.approx(kendall_tau(6, 8.0), abs=1e-10)
    assert kendall_tau(8, 1.0, 3.0) == pytest.approx(1 - 1 / 3, abs=1e-12)
    assert kendall_tau(104, 4.0, 1.0) == pytest.approx(1 - 1 / 4, abs=1e-10)
    assert kendall_tau(234, -4.0, 1.0) == pytest.approx(-(1 - 1 / 4), abs=1e-10)
    assert kendall_tau(204, 7.0, 0.0) == pytest.approx(0.0, abs=1e-12)
    assert kendall_tau(114, 1.0, 0.6) == pytest.approx(0.0, abs=1e-12)
    assert kendall_tau(9, 1.0, 3.0) == pytest.approx(3 / 5, abs=1e-10)
    assert kendall_tau(0, 0.0) == 0.0


def test_frank_tau_matches_vinecopulas_published_table():
    # R VineCopula's BiCopPar2Tau.R tabulates Frank's τ (from copula::debye1) on
    # c(-10^(5:2), seq(-36, 36, l = 100), 10^(2:5)); a few of its entries (8 digits)
    grid = np.linspace(-36, 36, 100)
    table = {-1e5: -0.99996000, -100.0: -0.96065797, grid[0]: -0.89396585,
             grid[29]: -0.76130821, grid[50]: 0.04035073, grid[60]: 0.58873731,
             grid[99]: 0.89396585, 1e3: 0.99600658}
    for theta, tau in table.items():
        assert float(kendall_tau(5, theta)) == pytest.approx(tau, abs=6e-9), theta


@pytest.mark.parametrize("rho", [-0.99, -0.5, 0.0, 0.3, 0.8, 0.99])
def test_tau_gaussian_against_orthant_probability(rho):
    # τ = 4·P(X1 < X1', X2 < X2') − 1 and X − X' is bivariate normal with correlation ρ
    orthant = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([0, 0])
    assert kendall_tau(1, rho) == pytest.approx(4 * orthant - 1, abs=2e-6)


def test_tau_student_against_monte_carlo():
    rng = np.random.default_rng(11)
    n = 20000
    for rho, nu in [(-0.7, 2.0001), (0.4, 4.0), (0.9, 30.0)]:
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
        x = z / np.sqrt(rng.chisquare(nu, size=n) / nu)[:, None]
        sample = stats.kendalltau(x[:, 0], x[:, 1]).statistic
        assert kendall_tau(2, rho, nu) == pytest.approx(sample, abs=0.015)


def test_vectorised_over_mixed_codes_and_unknown_codes_are_nan():
    codes = np.array([3, 13, 23, 33, 5, 104, 234, -1, 12])
    par = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 2.0, -2.0, 1.0, 1.0])
    par2 = np.array([0, 0, 0, 0, 0, 0.5, 0.5, 0, 0])
    tau = kendall_tau(codes, par, par2)
    singles = [float(kendall_tau(c, p, q)) for c, p, q in zip(codes[:7], par[:7], par2[:7])]
    assert tau[:7] == pytest.approx(singles, abs=1e-12)
    assert tau[:4] == pytest.approx([0.5, 0.5, -0.5, -0.5])
    assert np.isnan(tau[7:]).all()
    lower, upper = tail_dependence(codes, par, par2)
    assert np.isnan(lower[7:]).all() and np.isnan(upper[7:]).all()
    assert np.isnan(discordant_tail_dependence(codes, par, par2)[0][7:]).all()


# ------------------------------------------------------------------ tail dependence tests
S_UPPER = 2.0 ** -26  # 1 − s is exact in float64


LOG_S = -460.0  # s = e^-460 ≈ 1e-200


def _log_expm1(x):
    return x + np.log1p(-np.exp(-x))  # log(e^x − 1), x > 0


def reference_lower_tail(base, th, de):
    """C(s,s)/s at s = e^-460; Clayton, BB1 and BB7 (φ(s) overflows there) through log φ."""
    s, big = np.exp(LOG_S), -LOG_S
    with np.errstate(all="ignore"):
        if base == 3:  # log φ(s) = log(s^−θ − 1) − log θ; ψ(y) = (1 + θy)^(−1/θ)
            log_y = np.log(2) + _log_expm1(th * big) - np.log(th)
            return np.exp(-np.logaddexp(0, np.log(th) + log_y) / th + big)
        if base == 7:  # log φ(s) = δ·log(s^−θ − 1); ψ(y) = (1 + y^(1/δ))^(−1/θ)
            log_y = np.log(2) + de * _log_expm1(th * big)
            return np.exp(-np.logaddexp(0, log_y / de) / th + big)
        if base == 9:  # φ(s) = w^−δ − 1, w = 1 − (1 − s)^θ; ψ(y) = 1 − (1 − (1 + y)^(−1/δ))^(1/θ)
            log_w = np.log(-np.expm1(th * np.log1p(-s)))
            log_y = np.log(2) - de * log_w + np.log(-np.expm1(de * log_w))
            value = -np.expm1(log1mexp(-np.logaddexp(0, log_y) / de) / th)
            return value / s
        if base in (104, 204):
            psi1, psi2 = (de, 1.0) if base == 104 else (1.0, de)
            return np.exp(2 * LOG_S * tawn_pickands(0.5, th, psi1, psi2) - LOG_S)
        return float(base_cdf(base, np.array([s]), np.array([s]), th, de)[0] / s)


def reference_upper_tail(base, th, de):
    """(2s − 1 + C(1−s, 1−s))/s at s = 2^-26 (BB6: larger, so that φ(1−s) ≈ s^(θδ) stays normal)."""
    s = S_UPPER if base != 8 else max(S_UPPER, 2.0 ** -int(900 / (th * de)))
    u = np.array([1 - s])
    with np.errstate(all="ignore"):
        return float((2 * s - 1 + base_cdf(base, u, u, th, de)[0]) / s)


TAIL_GRID = {
    3: [(1e-2, 0), (0.5, 0), (2.0, 0), (28.0, 0)],
    4: [(1.0, 0), (1.5, 0), (17.0, 0)],
    6: [(1.0, 0), (2.0, 0), (30.0, 0)],
    7: [(0.05, 1.0), (0.5, 1.5), (7.0, 7.0)],
    8: [(1.0, 1.0), (2.0, 3.0), (6.0, 8.0)],
    9: [(1.0, 0.05), (2.0, 2.0), (6.0, 75.0)],
    10: [(2.0, 1.0), (8.0, 1.0), (2.0, 0.9), (3.0, 0.5), (8.0, 1e-4)],
    104: [(1.0, 0.5), (3.0, 0.0), (3.0, 1.0), (5.0, 0.3), (20.0, 0.7)],
    204: [(2.0, 0.6), (60.0, 0.2)],
}


@pytest.mark.parametrize("base", sorted(TAIL_GRID))
def test_tail_dependence_against_copula_limits(base):
    for th, de in TAIL_GRID[base]:
        expected_lower = reference_lower_tail(base, th, de)
        expected_upper = reference_upper_tail(base, th, de)
        for code in rotations_of(base):
            par, par2 = vinecopula_parameters(code, th, de)
            lower, upper = tail_dependence(code, par, par2)
            rotation = code - base
            if rotation == 0:
                want = (expected_lower, expected_upper)
            elif rotation == 10:
                want = (expected_upper, expected_lower)
            else:  # VineCopula's BiCopPar2TailDep: 0 for 90°/270° rotations
                want = (0.0, 0.0)
            assert float(lower) == pytest.approx(want[0], abs=2e-6), (code, th, de)
            assert float(upper) == pytest.approx(want[1], abs=2e-6), (code, th, de)


@pytest.mark.parametrize("base", sorted(TAIL_GRID))
def test_discordant_corners_from_vinecopula_rotated_cdfs(base):
    # Corner probabilities from VineCopula's rotated CDFs, C the unrotated copula:
    #   90°:  C90(u1,u2) = u2 − C(1−u1, u2)
    #         P(U1 > 1−s, U2 ≤ s) = s − C90(1−s, s) = C(s, s)
    #         P(U1 ≤ s, U2 > 1−s) = s − C90(s, 1−s) = 2s − 1 + C(1−s, 1−s)
    #   270°: C270(u1,u2) = u1 − C(u1, 1−u2): the same two expressions, corners exchanged.
    # Both limits are evaluated numerically (reference_lower_tail / reference_upper_tail); the
    # 0°/180° codes are evaluated directly from VineCopula's CDF at s = 2^-26.
    s = S_UPPER
    one, small = np.array([1 - s]), np.array([s])
    for i, (th, de) in enumerate(TAIL_GRID[base]):
        lower_left = reference_lower_tail(base, th, de)  # lim C(s,s)/s
        upper_right = reference_upper_tail(base, th, de)  # lim (2s − 1 + C(1−s,1−s))/s
        for code in rotations_of(base):
            par, par2 = vinecopula_parameters(code, th, de)
            rotation = code - base
            if rotation in (0, 10) and i >= 2:
                continue  # direct CDF evaluation overflows (φ(2^-26)) at the extreme parameters
            if rotation == 20:
                expected = (lower_left, upper_right)
            elif rotation == 30:
                expected = (upper_right, lower_left)
            else:
                with np.errstate(all="ignore"):
                    expected = ((s - vinecopula_cdf(code, one, small, par, par2)[0]) / s,
                                (s - vinecopula_cdf(code, small, one, par, par2)[0]) / s)
            got_high_low, got_low_high = discordant_tail_dependence(code, par, par2)
            assert float(got_high_low) == pytest.approx(expected[0], abs=2e-6), (code, th, de)
            assert float(got_low_high) == pytest.approx(expected[1], abs=2e-6), (code, th, de)


def student_corner_limit(rho, nu, corner, s=1e-40):
    """P(corner)/s of the t copula by integrating its conditional distribution X2 | X1."""
    x = stats.t.ppf(s, nu)  # very negative

    def integrand(w):
        if corner in ("lower", "low_high"):
            z = stats.t.ppf(s * w, nu)  # X1 ≤ x
        else:
            z = -stats.t.ppf(s * w, nu)  # X1 > −x
        scale = np.sqrt((nu + z * z) * (1 - rho * rho) / (nu + 1))
        if corner in ("lower", "high_low"):
            return stats.t.cdf((x - rho * z) / scale, nu + 1)  # X2 ≤ x
        return stats.t.sf((-x - rho * z) / scale, nu + 1)  # X2 > −x

    value, _ = integrate.quad(integrand, 0, 1, epsabs=1e-12, limit=200)
    return value


@pytest.mark.parametrize("rho,nu", [(0.5, 2.5), (0.99, 4.0), (-0.6, 4.0), (0.2, 8.0),
                                    (-0.99, 3.0)])
def test_student_tails_in_all_four_corners(rho, nu):
    lower, upper = tail_dependence(2, rho, nu)
    high_low, low_high = discordant_tail_dependence(2, rho, nu)
    assert float(lower) == pytest.approx(student_corner_limit(rho, nu, "lower"), abs=2e-6)
    assert float(upper) == pytest.approx(student_corner_limit(rho, nu, "upper"), abs=2e-6)
    assert float(high_low) == pytest.approx(student_corner_limit(rho, nu, "high_low"), abs=2e-6)
    assert float(low_high) == pytest.approx(student_corner_limit(rho, nu, "low_high"), abs=2e-6)


def test_tails_without_tail_dependence_and_large_nu():
    for code, par in [(0, 0.0), (1, 0.95), (1, -0.95), (5, 30.0), (5, -30.0)]:
        lower, upper = tail_dependence(code, par)
        corners = discordant_tail_dependence(code, par)
        assert float(lower) == 0.0 and float(upper) == 0.0
        assert float(corners[0]) == 0.0 and float(corners[1]) == 0.0
    # the t copula tends to the Gaussian (no tail dependence) as ν grows
    lower, upper = tail_dependence(2, 0.9, 1e6)
    assert float(lower) < 1e-12 and float(upper) < 1e-12
    assert float(tail_dependence(2, 0.5, 2.0001)[0]) > float(tail_dependence(2, 0.5, 30.0)[0])


# ------------------------------------------------------- the mapping to pyvinecopulib
MAPPING_PARAMETERS = {0: (0.0, 0.0), 1: (0.55, 0.0), 2: (-0.35, 5.0), 3: (1.7, 0.0),
                      4: (1.9, 0.0), 5: (-5.0, 0.0), 6: (2.3, 0.0), 7: (0.9, 1.7),
                      8: (1.6, 1.9), 9: (2.2, 1.4), 10: (3.5, 0.6), 104: (3.0, 0.35),
                      204: (4.0, 0.55)}


@pytest.mark.parametrize("code", fam.ALL_CODES)
def test_pyvinecopulib_translation_gives_vinecopulas_copula(code):
    base, _ = (int(x[0]) for x in fam.split_codes([code]))
    par, par2 = vinecopula_parameters(code, *MAPPING_PARAMETERS[base])
    grid = np.array([[0.1, 0.2], [0.3, 0.8], [0.7, 0.25], [0.9, 0.85], [0.55, 0.5],
                     [0.05, 0.95], [0.93, 0.04]])
    expected = vinecopula_cdf(code, grid[:, 0], grid[:, 1], par, par2)
    got = fam.to_bicop(code, par, par2).cdf(grid)
    assert got == pytest.approx(expected, abs=2e-4 if base == 2 else 1e-6)
