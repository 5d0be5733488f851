"""The marginalised per-cell likelihood as one compiled operation, its gradient written out.

:func:`soilp_qgis.bayes.model.build_driver_model` with ``random_intercepts="marginalised"`` (the
default) adds ``Σ_c log p(rows of cell c)`` with each cell's intercepts integrated out (the
formula is in :func:`logp_and_gradient`). Written as a pytensor graph, that sum is ~100 small
array operations, and pytensor's numba backend spent ~50 µs per value and gradient on them (200
cells), against ~6 µs for all the priors and transforms together. Here the value and the gradient
with respect to the model's parameters are one numba function (:func:`logp_and_gradient`, ~7 µs
at 200 cells), wrapped in one pytensor Op (:class:`MarginalCellsLogp`) whose outputs are the value
and the gradient, with a numba implementation registered for pytensor's numba backend; nutpie
compiles the model as before, and the priors, transforms and variable names stay pymc's. Measured
on a simulated ecoregion of 200 cells × 240 months (4 chains × (2000 + 2000), two cores): the
model's value and gradient 51 → 17 µs, sampling 3.7 → 2.3 s.

The value is checked against scipy's joint normal density of each cell's rows and the gradient
against pytensor's automatic derivative of the same formula written as a graph
(``tests/engine/test_bayes_likelihood.py``).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

_LOG_2PI = math.log(2.0 * math.pi)
_SOURCE_VERSION = int(hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12], 16)
#: The differentiable inputs, in the Ops' order; the data (sufficient statistics) follow.
PARAMETERS: tuple[str, ...] = ("intercept", "coefficient", "sigma", "residual_correlation",
                               "cell_sd", "cell_correlation")
#: The sufficient statistics, as :func:`soilp_qgis.bayes.model.model_data_arrays` names them.
DATA: tuple[str, ...] = ("design_cross", "design_response", "response_cross", "rows",
                         "cell_design_sum", "cell_response_sum", "cell_rows")


# error_model="numpy": a division by zero (a scale underflowed to 0 far out in warm-up) gives
# inf/nan, a point the sampler rejects, instead of raising ZeroDivisionError inside the sampler
@numba.njit(cache=False, error_model="numpy")
def logp_and_gradient(intercept, coefficient, sigma, residual_correlation, cell_sd,
                      cell_correlation, design_cross, design_response, response_cross, rows,
                      cell_design_sum, cell_response_sum, cell_rows):
    """``Σ_c log p(rows of cell c)`` with the cells' intercepts ``u_c ~ N(0, Ψ)`` integrated out,
    and its gradient with respect to the six parameters.

    With ``Γ = [intercept; coefficient]`` (8 × 2), ``Σ`` the residual covariance (``sigma``,
    ``residual_correlation``), ``Ψ`` the cells' (``cell_sd``, ``cell_correlation``),
    ``R = YᵀY − ΓᵀWᵀY − YᵀWΓ + ΓᵀWᵀWΓ`` the residuals' scatter, ``m_c`` the residual sums of cell
    ``c`` (``cell_response_sum − cell_design_sum Γ``), ``n_c`` its rows, ``N`` all rows and
    ``C`` the cells, ``A_c = Σ + n_c Ψ`` and ``S = R − Σ_c m_c m_cᵀ / n_c``::

        log p = −N log 2π − (N − C)/2 log|Σ| − ½ tr(Σ⁻¹ S)
                − ½ Σ_c [log|A_c| + m_cᵀ A_c⁻¹ m_c / n_c]

    Why: a cell's ``n`` residual rows are ``r_i = u + e_i`` with ``e_i ~ N(0, Σ)``; an
    orthonormal (Helmert) rotation of its rows gives ``√n r̄ ~ N(0, Σ + nΨ)`` and ``n − 1``
    independent ``N(0, Σ)`` contrasts whose scatter is ``Σ_i r_i r_iᵀ − n r̄ r̄ᵀ``; summing
    the cells' log densities gives the line above, O(cells) work from the sufficient statistics.
    The gradient by the matrix rules ``∂ log|X| = X⁻¹``, ``∂ tr(X⁻¹ S) = −X⁻¹ S X⁻¹`` and
    ``∂ mᵀX⁻¹m = −X⁻¹ m mᵀ X⁻¹``, then through ``Σ = [[σ₀², σ₀σ₁r], [σ₀σ₁r, σ₁²]]`` (and Ψ
    alike) and through ``R`` and ``m_c`` to ``Γ``. Returns ``(logp, d_intercept,
    d_coefficient, d_sigma, d_residual_correlation, d_cell_sd, d_cell_correlation)``.
    """
    k = coefficient.shape[0] + 1
    gamma = np.empty((k, 2))
    gamma[0, :] = intercept
    gamma[1:, :] = coefficient
    # residual scatter R = YᵀY − ΓᵀB − BᵀΓ + ΓᵀQΓ and QΓ − B (for the gradient)
    fitted_minus_b = np.empty((k, 2))
    for i in range(k):
        for j in range(2):
            total = 0.0
            for h in range(k):
                total += design_cross[i, h] * gamma[h, j]
            fitted_minus_b[i, j] = total - design_response[i, j]
    scatter = np.empty((2, 2))
    for a in range(2):
        for b in range(2):
            total = response_cross[a, b]
            for i in range(k):
                total += gamma[i, a] * fitted_minus_b[i, b] - design_response[i, a] * gamma[i, b]
            scatter[a, b] = total

    s0, s1, r = sigma[0], sigma[1], residual_correlation
    s00, s01, s11 = s0 * s0, s0 * s1 * r, s1 * s1
    t0, t1, rho = cell_sd[0], cell_sd[1], cell_correlation
    p00, p01, p11 = t0 * t0, t0 * t1 * rho, t1 * t1
    det = s00 * s11 - s01 * s01
    i00, i01, i11 = s11 / det, -s01 / det, s00 / det        # Σ⁻¹

    n_cells = cell_rows.shape[0]
    within00, within01, within11 = scatter[0, 0], 0.5 * (scatter[0, 1] + scatter[1, 0]), \
        scatter[1, 1]
    cells_logdet = 0.0
    det_product = 1.0
    cells_quadratic = 0.0
    g_s00 = g_s01 = g_s11 = 0.0            # ∂/∂Σ from the cells' terms
    g_p00 = g_p01 = g_p11 = 0.0            # ∂/∂Ψ
    g_gamma = np.zeros((k, 2))
    for c in range(n_cells):
        n = cell_rows[c]
        inverse_n = 1.0 / n
        m0 = cell_response_sum[c, 0]
        m1 = cell_response_sum[c, 1]
        for h in range(k):
            m0 -= cell_design_sum[c, h] * gamma[h, 0]
            m1 -= cell_design_sum[c, h] * gamma[h, 1]
        within00 -= m0 * m0 * inverse_n
        within01 -= m0 * m1 * inverse_n
        within11 -= m1 * m1 * inverse_n
        a00, a01, a11 = s00 + n * p00, s01 + n * p01, s11 + n * p11
        cell_det = a00 * a11 - a01 * a01
        inverse_det = 1.0 / cell_det
        v0 = (a11 * m0 - a01 * m1) * inverse_det               # A_c⁻¹ m_c
        v1 = (a00 * m1 - a01 * m0) * inverse_det
        # Σ_c log|A_c| as the log of running products: a logarithm per cell would be a third of
        # the time; products are kept within 1e±200 so they neither overflow nor underflow
        if 1e-100 < cell_det < 1e100:
            det_product *= cell_det
            if not 1e-100 < det_product < 1e100:
                cells_logdet += math.log(det_product)
                det_product = 1.0
        else:
            cells_logdet += math.log(cell_det)
        cells_quadratic += (m0 * v0 + m1 * v1) * inverse_n
        # T_c = A_c⁻¹ − v vᵀ / n_c; ∂/∂Σ += −½ T_c, ∂/∂Ψ += −½ n_c T_c
        t00 = a11 * inverse_det - v0 * v0 * inverse_n
        t01 = -a01 * inverse_det - v0 * v1 * inverse_n
        t11 = a00 * inverse_det - v1 * v1 * inverse_n
        g_s00 -= 0.5 * t00
        g_s01 -= 0.5 * t01
        g_s11 -= 0.5 * t11
        g_p00 -= 0.5 * n * t00
        g_p01 -= 0.5 * n * t01
        g_p11 -= 0.5 * n * t11
        # ∂/∂m_c = (Σ⁻¹ m_c − v) / n_c (through S and the cell's own term); m_c = … − SW_c Γ
        d0 = (i00 * m0 + i01 * m1 - v0) * inverse_n
        d1 = (i01 * m0 + i11 * m1 - v1) * inverse_n
        for h in range(k):
            g_gamma[h, 0] -= cell_design_sum[c, h] * d0
            g_gamma[h, 1] -= cell_design_sum[c, h] * d1

    cells_logdet += math.log(det_product)
    within_quadratic = i00 * within00 + 2.0 * i01 * within01 + i11 * within11   # tr(Σ⁻¹ S)
    logp = (-rows * _LOG_2PI - 0.5 * (rows - n_cells) * math.log(det) - 0.5 * within_quadratic
            - 0.5 * cells_logdet - 0.5 * cells_quadratic)

    # ∂/∂Σ of −(N − C)/2 log|Σ| − ½ tr(Σ⁻¹ S): −(N − C)/2 Σ⁻¹ + ½ Σ⁻¹ S Σ⁻¹
    w00 = i00 * within00 + i01 * within01                 # Σ⁻¹ S
    w01 = i00 * within01 + i01 * within11
    w10 = i01 * within00 + i11 * within01
    w11 = i01 * within01 + i11 * within11
    half = 0.5 * (rows - n_cells)
    g_s00 += -half * i00 + 0.5 * (w00 * i00 + w01 * i01)
    g_s01 += -half * i01 + 0.5 * (w00 * i01 + w01 * i11)
    g_s11 += -half * i11 + 0.5 * (w10 * i01 + w11 * i11)
    # through R: ∂/∂Γ = 2 (QΓ − B) ∂/∂R with ∂/∂R = −½ Σ⁻¹
    for h in range(k):
        g_gamma[h, 0] -= fitted_minus_b[h, 0] * i00 + fitted_minus_b[h, 1] * i01
        g_gamma[h, 1] -= fitted_minus_b[h, 0] * i01 + fitted_minus_b[h, 1] * i11

    # Σ = [[σ₀², σ₀σ₁r], [σ₀σ₁r, σ₁²]]: dlogp = g00 dΣ00 + 2 g01 dΣ01 + g11 dΣ11
    d_sigma = np.empty(2)
    d_sigma[0] = 2.0 * g_s00 * s0 + 2.0 * g_s01 * s1 * r
    d_sigma[1] = 2.0 * g_s11 * s1 + 2.0 * g_s01 * s0 * r
    d_residual_correlation = 2.0 * g_s01 * s0 * s1
    d_cell_sd = np.empty(2)
    d_cell_sd[0] = 2.0 * g_p00 * t0 + 2.0 * g_p01 * t1 * rho
    d_cell_sd[1] = 2.0 * g_p11 * t1 + 2.0 * g_p01 * t0 * rho
    d_cell_correlation = 2.0 * g_p01 * t0 * t1
    return (logp, g_gamma[0].copy(), g_gamma[1:].copy(), d_sigma, d_residual_correlation,
            d_cell_sd, d_cell_correlation)


def _plain(inputs):
    """The Ops' inputs as :func:`logp_and_gradient` takes them (0-d arrays as floats)."""
    return [float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float64) for x in inputs]


class MarginalCellsLogp(Op):
    """``Σ_c log p(rows of cell c)`` (see :func:`logp_and_gradient`) as one pytensor Op.

    Inputs are :data:`PARAMETERS` then :data:`DATA`; outputs the log density followed by its
    gradient with respect to each parameter, so that the sampler's value-and-gradient function
    runs the kernel once. The Op's derivative (``L_op``) is that second group of outputs; the
    data are not differentiated, nor are the gradient outputs (no second derivatives).
    """

    __props__ = ()

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x) for x in inputs]
        gradients = [x.type() for x in inputs[:len(PARAMETERS)]]
        return Apply(self, inputs, [pt.dscalar(), *gradients])

    def perform(self, node, inputs, outputs):
        for output, value in zip(outputs, logp_and_gradient(*_plain(inputs))):
            output[0] = np.asarray(value, dtype=np.float64)

    def L_op(self, inputs, outputs, output_gradients):  # noqa: N802 - pytensor's name
        unsupported = any(not isinstance(g.type, DisconnectedType) for g in output_gradients[1:])
        if unsupported:
            return [grad_not_implemented(self, i, x, "second derivatives")
                    for i, x in enumerate(inputs)]
        return ([d * output_gradients[0] for d in outputs[1:]]
                + [grad_not_implemented(self, len(PARAMETERS) + i, x, "data are constants")
                   for i, x in enumerate(inputs[len(PARAMETERS):])])


@register_funcify_default_op_cache_key(MarginalCellsLogp)
def _numba_marginal_cells_logp(op, node, **kwargs):
    """The Op in pytensor's numba backend; cacheable with the graph, keyed to this module's text
    (pytensor's cache key is the Op's type otherwise, which would outlive an edit here)."""
    @numba.njit
    def marginal_cells_logp(intercept, coefficient, sigma, residual_correlation, cell_sd,
                            cell_correlation, design_cross, design_response, response_cross,
                            rows, cell_design_sum, cell_response_sum, cell_rows):
        logp, d_intercept, d_coefficient, d_sigma, d_r, d_cell_sd, d_rho = logp_and_gradient(
            intercept, coefficient, sigma, residual_correlation[()], cell_sd,
            cell_correlation[()], design_cross, design_response, response_cross, rows[()],
            cell_design_sum, cell_response_sum, cell_rows)
        return (np.asarray(logp), d_intercept, d_coefficient, d_sigma, np.asarray(d_r),
                d_cell_sd, np.asarray(d_rho))

    return marginal_cells_logp, _SOURCE_VERSION


def marginal_cells_logp(*inputs):
    """The log density (a pytensor scalar) of :class:`MarginalCellsLogp` on ``inputs``."""
    return MarginalCellsLogp()(*inputs)[0]


def graph_logp(intercept, coefficient, sigma, r, cell_sd, rho, design_cross, design_response,
               response_cross, rows, cell_design_sum, cell_response_sum, cell_rows):
    """The same density written as a pytensor graph, differentiated by pytensor: the form the
    model used before :class:`MarginalCellsLogp`; what the model uses where the Op has no
    implementation (JAX, for the numpyro sampler), and the reference the Op is tested and
    benchmarked against (``bench/bench_bayes_likelihood.py``). Inputs as the Op's."""
    gamma = pt.concatenate([intercept[None, :], coefficient], axis=0)
    cross = design_response.T @ gamma
    scatter = response_cross - cross - cross.T + gamma.T @ design_cross @ gamma
    sums = cell_response_sum - cell_design_sum @ gamma
    s00, s01, s11 = sigma[0] ** 2, sigma[0] * sigma[1] * r, sigma[1] ** 2
    p00, p01, p11 = cell_sd[0] ** 2, cell_sd[0] * cell_sd[1] * rho, cell_sd[1] ** 2
    n, m0, m1 = cell_rows, sums[:, 0], sums[:, 1]
    within = scatter - (sums.T / n) @ sums
    det = s00 * s11 - s01 ** 2
    quadratic = (s11 * within[0, 0] - 2.0 * s01 * within[0, 1] + s00 * within[1, 1]) / det
    a00, a01, a11 = s00 + n * p00, s01 + n * p01, s11 + n * p11
    cell_det = a00 * a11 - a01 ** 2
    cell_quadratic = (a11 * m0 ** 2 - 2.0 * a01 * m0 * m1 + a00 * m1 ** 2) / (cell_det * n)
    return (-rows * np.log(2.0 * np.pi) - 0.5 * (rows - n.shape[0]) * pt.log(det)
            - 0.5 * quadratic - 0.5 * pt.sum(pt.log(cell_det)) - 0.5 * pt.sum(cell_quadratic))
