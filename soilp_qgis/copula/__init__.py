"""Copula dependence between precipitation and soil moisture (paper section 2.2.1).

- ``families``: the 40 VineCopula family codes, family sets, VineCopula ↔ pyvinecopulib.
- ``dependence``: Kendall's τ and tail dependence of any code and parameters, vectorised.
- ``margins``: pseudo-observations (ties averaged as R's ``pobs``), parametric margins,
  standardised anomalies per calendar month.
- ``fit``: the per-block fitter interface (``CopulaBlockFitter``) and ``PyvinecopulibFitter``.
"""

from .dependence import discordant_tail_dependence, kendall_tau, tail_dependence
from .fit import CopulaBlockFitter, CopulaBlockResult, PyvinecopulibFitter

__all__ = ["CopulaBlockFitter", "CopulaBlockResult", "PyvinecopulibFitter",
           "discordant_tail_dependence", "kendall_tau", "tail_dependence"]
