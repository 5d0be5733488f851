"""The marginalised per-cell likelihood's compiled Op (soilp_qgis.bayes.likelihood): its value
and its hand-written gradient against independent computations.

- the value: per cell, scipy's joint normal density of all the cell's rows, N(vec r_c | 0,
  I ⊗ Σ + J ⊗ Ψ), also in ``test_bayes.py`` through the model;
- the gradient: pytensor's automatic derivative of the same formula written as a graph (the
  form the model used before the Op) and central finite differences;
- in pytensor's numba backend (what nutpie runs) as in its Python implementation, and in the
  model's full value-and-gradient function against the graph form's.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.traversal import ancestors
from scipy import stats

from soilp_qgis.bayes import assemble_ecoregion
from soilp_qgis.bayes.likelihood import (
    DATA,
    PARAMETERS,
    MarginalCellsLogp,
    graph_logp,
    logp_and_gradient,
    marginal_cells_logp,
)
from soilp_qgis.bayes.model import build_driver_model, model_data_arrays

KEYS = ("precipitation", "soil_moisture", "air_temperature", "gpp", "lst")


def _data(seed: int, cells: int = 7, steps: int = 30):
    rng = np.random.default_rng(seed)
    blocks = {k: rng.normal(size=(cells, steps)) for k in KEYS}
    blocks["gpp"][1, 3:9] = np.nan                # unequal rows per cell
    blocks["lst"][4, 10:16] = np.nan
    blocks["precipitation"][5, :3] = np.nan
    data = assemble_ecoregion(*(blocks[k] for k in KEYS), data="cells")
    arrays = model_data_arrays(data)
    return data, [arrays[name] for name in DATA]


def _parameters(seed: int, cell_scale: float = 0.6) -> list:
    rng = np.random.default_rng(seed)
    return [rng.normal(0.0, 0.3, size=2), rng.normal(0.0, 0.3, size=(7, 2)),
            rng.uniform(0.5, 1.5, size=2), rng.uniform(-0.8, 0.8),
            cell_scale * rng.uniform(0.5, 1.5, size=2), rng.uniform(-0.8, 0.8)]


def _covariance(sd, r):
    return np.array([[sd[0] ** 2, r * sd[0] * sd[1]], [r * sd[0] * sd[1], sd[1] ** 2]])


def _symbols():
    return [pt.dvector("intercept"), pt.dmatrix("coefficient"), pt.dvector("sigma"),
            pt.dscalar("r"), pt.dvector("cell_sd"), pt.dscalar("rho"),
            pt.dmatrix(), pt.dmatrix(), pt.dmatrix(), pt.dscalar(), pt.dmatrix(), pt.dmatrix(),
            pt.dvector()]


def _value_and_gradient(logp_of, mode):
    symbols = _symbols()
    logp = logp_of(*symbols)
    gradient = pytensor.grad(logp, symbols[:len(PARAMETERS)])
    return pytensor.function(symbols, [logp, *gradient], mode=mode)


def test_value_is_each_cells_joint_normal_density():
    data, arrays = _data(9)
    parameters = _parameters(3)
    intercept, coefficient, sigma, r, cell_sd, rho = parameters
    residuals = data.responses - intercept - data.terms @ coefficient
    expected = 0.0
    for cell in range(data.n_cells):
        own = residuals[data.cell_index == cell]
        n = len(own)
        joint = np.kron(np.eye(n), _covariance(sigma, r)) + np.kron(np.ones((n, n)),
                                                                    _covariance(cell_sd, rho))
        expected += stats.multivariate_normal(np.zeros(2 * n), joint).logpdf(own.ravel())
    assert len(np.unique(np.bincount(data.cell_index))) == 3
    assert logp_and_gradient(*parameters, *arrays)[0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_value_and_gradient_are_the_graphs_automatic_derivative(mode, seed):
    """Python (``perform``) and numba implementations against pytensor's derivative of the
    graph form, at points with weak and strong cell effects and correlations of either sign."""
    _, arrays = _data(20 + seed, cells=9)
    parameters = _parameters(seed, cell_scale=[0.05, 0.6, 3.0][seed - 1])
    compiled = _value_and_gradient(marginal_cells_logp, mode)(*parameters, *arrays)
    reference = _value_and_gradient(graph_logp, "FAST_COMPILE")(*parameters, *arrays)
    assert len(compiled) == len(PARAMETERS) + 1
    for name, ours, expected in zip(("logp", *PARAMETERS), compiled, reference):
        np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9, err_msg=name)


def _logp_with(parameters, index, value, arrays):
    changed = list(parameters)
    changed[index] = value if value.shape else float(value)
    return logp_and_gradient(*changed, *arrays)[0]


def test_gradient_is_the_finite_difference_slope():
    _, arrays = _data(5)
    parameters = _parameters(4)
    _, *gradient = logp_and_gradient(*parameters, *arrays)
    step = 1e-6
    for index, name in enumerate(PARAMETERS):
        value = np.asarray(parameters[index], dtype=float)
        for position in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[position] += step
            down[position] -= step

            slope = (_logp_with(parameters, index, up, arrays)
                     - _logp_with(parameters, index, down, arrays)) / (2 * step)
            assert np.asarray(gradient[index])[position] == pytest.approx(slope, rel=1e-5,
                                                                          abs=1e-4), name


def test_extreme_scales_keep_the_log_determinants_exact():
    """Cells whose covariance determinant leaves 1e±100 (a scale of 1e30 or 1e-30) take the
    logarithm directly; many ordinary cells make the running product cross 1e100 several
    times. Both give the graph form's value."""
    _, arrays = _data(6, cells=400, steps=12)
    reference = _value_and_gradient(graph_logp, "FAST_COMPILE")
    for sd_scale in (1e-30, 1.0, 1e30):
        parameters = _parameters(8)
        parameters[4] = parameters[4] * sd_scale
        ours = logp_and_gradient(*parameters, *arrays)[0]
        assert ours == pytest.approx(float(reference(*parameters, *arrays)[0]), rel=1e-12)


def test_second_derivatives_and_data_derivatives_are_refused():
    symbols = _symbols()
    logp = marginal_cells_logp(*symbols)
    with pytest.raises(Exception, match="not implemented|NullType"):
        pytensor.grad(logp, symbols[6])


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
def test_degenerate_points_give_the_graph_forms_value_not_an_error(mode):
    """Far out in warm-up a scale can underflow to 0 or a correlation reach ±1: the sampler must
    get the graph form's value there (non-finite: a rejected point; finite for cells without
    spread), not an exception (numba's default is Python's ZeroDivisionError)."""
    _, arrays = _data(7)
    function = _value_and_gradient(marginal_cells_logp, mode)
    reference = _value_and_gradient(graph_logp, "FAST_COMPILE")
    finite = []
    for index, value in ((2, np.zeros(2)), (4, np.zeros(2)), (3, 1.0), (5, -1.0),
                         (2, np.array([np.inf, 1.0]))):
        parameters = _parameters(5)
        parameters[index] = value
        ours, expected = function(*parameters, *arrays)[0], reference(*parameters, *arrays)[0]
        finite.append(bool(np.isfinite(expected)))
        if finite[-1]:
            assert ours == pytest.approx(expected, rel=1e-10)
        else:
            assert not np.isfinite(ours), (index, value)
    assert finite == [False, True, False, True, False]


def test_model_with_either_likelihood_form_has_the_same_density_and_gradient():
    """``build_driver_model(compiled_likelihood=False)`` (what the numpyro sampler gets: JAX has
    no implementation of the Op) is the same model: same log density and gradient, priors and
    transforms included, and no compiled Op in its graph."""
    data, _ = _data(11)
    compiled = build_driver_model(data)
    graph = build_driver_model(data, compiled_likelihood=False)
    functions = [(m.compile_logp(), m.compile_dlogp()) for m in (compiled, graph)]
    rng = np.random.default_rng(12)
    for seed in range(3):
        point = {k: v + rng.normal(scale=0.5, size=np.shape(v))
                 for k, v in compiled.initial_point(random_seed=seed).items()}
        (logp, dlogp), (graph_logp_of, graph_dlogp) = functions
        assert logp(point) == pytest.approx(graph_logp_of(point), rel=1e-10)
        np.testing.assert_allclose(dlogp(point), graph_dlogp(point), rtol=1e-9, atol=1e-9)
    def ops(model):
        return {type(v.owner.op) for v in ancestors([model.logp()]) if v.owner is not None}

    assert MarginalCellsLogp in ops(compiled) and MarginalCellsLogp not in ops(graph)
