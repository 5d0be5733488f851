"""The report's sections, one module each, each made from whichever of its files the output
folder holds: copula maps, the negative-dependence shares, the optimal lag, the ternary
composites, the Bayesian drivers and the provenance. A section whose files are missing says so in
one line. ``SECTIONS`` is the page's order."""

from __future__ import annotations

from collections.abc import Callable

from .. import html as h
from .bayes import bayesian_drivers
from .common import Context
from .lags import optimal_lag
from .maps import dependence_maps
from .negative import negative_dependence
from .provenance import provenance_section
from .ternary import ternary_composites

SECTIONS: list[tuple[str, str, Callable[[Context], h.Html]]] = [
    ("dependence-maps", "Dependence of soil moisture on precipitation (copula)", dependence_maps),
    ("negative-dependence", "Negative dependence", negative_dependence),
    ("optimal-lag", "Optimal lag", optimal_lag),
    ("ternary", "What controls soil moisture (ridge regression)", ternary_composites),
    ("bayesian-drivers", "Drivers of the dependence per ecoregion (Bayesian)", bayesian_drivers),
    ("provenance", "Provenance", provenance_section),
]

__all__ = ["SECTIONS", "Context"]
