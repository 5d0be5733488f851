"""Is a cell's dependence real? Per-cell tests and false discovery rate control over a map.

Pure functions over per-cell arrays (1-D, one value per cell; NaN = not computed):

* the sample Kendall test is :func:`soilp_qgis.kendall.kendall_tau_b`'s two-sided p-value
  (τ-b with the tie-corrected variance, so the ties of dry months are accounted for; exact
  null distribution for short series without ties, as ``scipy.stats.kendalltau``);
* :func:`likelihood_ratio_p_value`: the selected copula against independence. The
  independence copula has log-likelihood 0, so the statistic is 2·loglik, compared with χ²
  with as many degrees of freedom as the copula has parameters (:func:`parameter_count`).
  This p-value is conditional on the family AIC chose among up to 40 candidates: the
  selection makes it smaller than a pre-specified test's, so the significance map is built
  on the Kendall test, and this one is an extra output;
* :func:`benjamini_hochberg` over all computed cells of a map, at the level
  :func:`fdr_level` = 2 α: Wilks (2016, BAMS 97, 2263–2273) shows that with spatially
  correlated tests BH at α_FDR = 2 α keeps the field (global) significance near α;
* :func:`significance_map`: int8, −1 significantly negative, 0 not significant, +1
  significantly positive, :data:`SIGNIFICANCE_NODATA` where the cell was not computed (the
  steps write it as Int16: QGIS 3.22's GDAL reads signed-byte GeoTIFFs as unsigned).
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

#: nodata of the int8 significance map (−1, 0, +1 are values)
SIGNIFICANCE_NODATA = -128
#: meaning of the significance map's values, for styles and tables
SIGNIFICANCE_CLASSES = ((-1, "significantly negative", "#b2182b"),
                        (0, "not significant", "#f7f7f7"),
                        (1, "significantly positive", "#2166ac"))


def check_alpha(alpha: float) -> float:
    """α as a float in (0, 0.5), or :class:`InputError` naming ALPHA."""
    value = float(alpha)
    if not 0.0 < value < 0.5:
        raise InputError(f"ALPHA must lie between 0 and 0.5 (exclusive), got {alpha!r}")
    return value


def fdr_level(alpha: float) -> float:
    """The Benjamini–Hochberg level for a field-significance level α: 2 α (Wilks 2016)."""
    return 2.0 * check_alpha(alpha)


def benjamini_hochberg(p_values: np.ndarray, level: float) -> np.ndarray:
    """Which tests Benjamini–Hochberg rejects at FDR ``level`` (boolean, same shape).

    NaN p-values are not tests: they are never rejected and do not count in m. With the m
    finite p-values sorted, p₍₁₎ ≤ … ≤ p₍ₘ₎, every test with p ≤ p₍ₖ₎ is rejected, k the
    largest index with p₍ₖ₎ ≤ k·level/m (none if there is no such k).
    """
    p = np.asarray(p_values, dtype=np.float64)
    rejected = np.zeros(p.shape, dtype=bool)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return rejected
    ordered = np.sort(p[finite])
    below = ordered <= level * np.arange(1, m + 1) / m
    if below.any():
        threshold = ordered[np.flatnonzero(below)[-1]]
        rejected[finite] = p[finite] <= threshold
    return rejected


def significance_map(p_value: np.ndarray, tau: np.ndarray, alpha: float,
                     computed: np.ndarray | None = None) -> np.ndarray:
    """int8 per cell: ±1 where BH at :func:`fdr_level` (α) rejects, signed as ``tau``; 0 where
    not rejected (or τ = 0); :data:`SIGNIFICANCE_NODATA` where not ``computed`` (default: where
    the p-value or τ is NaN). BH runs over the computed cells of the whole array."""
    p = np.asarray(p_value, dtype=np.float64)
    tau = np.asarray(tau, dtype=np.float64)
    if computed is None:
        computed = np.isfinite(p) & np.isfinite(tau)
    computed = np.asarray(computed, dtype=bool) & np.isfinite(p) & np.isfinite(tau)
    rejected = benjamini_hochberg(np.where(computed, p, np.nan), fdr_level(alpha))
    out = np.full(p.shape, SIGNIFICANCE_NODATA, dtype=np.int8)
    out[computed] = 0
    out[rejected & (tau < 0)] = -1
    out[rejected & (tau > 0)] = 1
    return out


def parameter_count(family: np.ndarray) -> np.ndarray:
    """Number of parameters of each VineCopula family code (0 independence, 1 or 2; −1 → 0)."""
    from .copula.families import family_table

    table = family_table()
    codes = np.asarray(family).astype(np.int64)
    counts = np.zeros(codes.shape, dtype=np.int64)
    for code in np.unique(codes):
        if int(code) in table:
            counts[codes == code] = table[int(code)].parameters
    return counts


def likelihood_ratio_p_value(loglik: np.ndarray, parameters: np.ndarray) -> np.ndarray:
    """p-value of the likelihood-ratio test of a copula against independence.

    Statistic 2·loglik (independence has log-likelihood 0; a negative loglik counts as 0)
    against χ² with ``parameters`` degrees of freedom; 1 where the copula is independence
    (0 parameters); NaN where ``loglik`` is NaN.
    """
    from scipy import stats  # here: importing scipy.stats costs seconds in every process

    loglik = np.asarray(loglik, dtype=np.float64)
    df = np.asarray(parameters, dtype=np.float64)
    statistic = 2.0 * np.maximum(loglik, 0.0)
    with np.errstate(invalid="ignore"):
        p = np.where(df > 0, stats.chi2.sf(statistic, np.maximum(df, 1.0)), 1.0)
    return np.where(np.isfinite(loglik), p, np.nan)


def copula_loglik(family: np.ndarray, par: np.ndarray, par2: np.ndarray,
                  precipitation: np.ndarray, soil_moisture: np.ndarray,
                  margins: str = "empirical") -> np.ndarray:
    """Log-likelihood per cell of the selected copula ``(family, par, par2)`` (VineCopula
    convention, as a fitter returns them) on the cell's valid pairs, with the fitter's margins:
    pseudo-observations (ties averaged) or the parametric margins (refitted: costly, as the
    fitter's own margins). NaN where ``family`` is −1. Evaluated by pyvinecopulib."""
    from .copula.families import to_bicop
    from .copula.margins import parametric_uniforms, pseudo_observations

    p = np.asarray(precipitation, dtype=np.float64)
    sm = np.asarray(soil_moisture, dtype=np.float64)
    valid = np.isfinite(p) & np.isfinite(sm)
    family = np.asarray(family)
    loglik = np.full(family.shape, np.nan)
    fitted = np.flatnonzero(family >= 0)
    if margins == "empirical" and fitted.size:
        u1 = pseudo_observations(np.where(valid, p, np.nan))
        u2 = pseudo_observations(np.where(valid, sm, np.nan))
    for cell in fitted:
        if int(family[cell]) == 0:  # independence: log-likelihood 0, no margins needed
            loglik[cell] = 0.0
            continue
        keep = valid[cell]
        if margins == "empirical":
            u = np.column_stack([u1[cell, keep], u2[cell, keep]])
        else:
            try:
                u = np.column_stack([parametric_uniforms(p[cell, keep], point_mass_at_zero=True),
                                     parametric_uniforms(sm[cell, keep])])
            except Exception:  # a margin that cannot be fitted: as the fitter, no value
                continue
        bicop = to_bicop(int(family[cell]), float(par[cell]), float(par2[cell]))
        loglik[cell] = float(bicop.loglik(np.clip(u, 1e-10, 1 - 1e-10)))
    return loglik


__all__ = ["SIGNIFICANCE_CLASSES", "SIGNIFICANCE_NODATA", "benjamini_hochberg", "check_alpha",
           "copula_loglik", "parameter_count", "fdr_level", "likelihood_ratio_p_value",
           "significance_map"]
