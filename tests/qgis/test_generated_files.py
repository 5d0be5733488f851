"""The committed generated files match what their scripts make from the definitions today: the
help pages and docs/OUTPUTS.md (scripts/build_docs.py) and the shipped model
(scripts/build_full_analysis_model.py). A failure names the script to run."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT
from qgis.core import QgsApplication, QgsProcessingModelAlgorithm

sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(scope="module")
def resolved(soilp_provider):
    """The provider with its shipped models resolved (as after QGIS's start-up)."""
    QgsApplication.processingRegistry().providerById("soilp").refreshAlgorithms()
    return soilp_provider


def test_help_pages_and_outputs_page_are_up_to_date(resolved):
    import build_docs

    expected = build_docs.pages()
    stale = [str(path.relative_to(ROOT)) for path, text in expected.items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    extra = sorted(str(p.relative_to(ROOT)) for p in build_docs.PAGES.glob("*.md")
                   if p not in expected)
    assert not stale and not extra, (
        f"out of date: {stale + extra}; run QT_QPA_PLATFORM=offscreen python3 "
        "scripts/build_docs.py")
    # every algorithm has its page, and its Help button opens it
    provider = QgsApplication.processingRegistry().providerById("soilp")
    for algorithm in provider.algorithms():
        assert build_docs.PAGES / f"{algorithm.name()}.md" in expected
    page = expected[build_docs.PAGES / "copuladependence.md"]
    assert "| `OUTPUT_TAU` | Kendall's τ | raster (.tif) | required |" in page
    assert "qgis_process run soilp:copuladependence -- PRECIPITATION=precipitation.tif" in page


def model_summary(model: QgsProcessingModelAlgorithm) -> dict:
    """What a model does, without its drawing: inputs (in order, with type, flags, default),
    each step's algorithm, dependencies and every parameter's sources."""
    inputs = [(d.name(), d.type(), int(d.flags()), d.defaultValue())
              for d in model.parameterDefinitions()]
    steps = {}
    for child_id, child in model.childAlgorithms().items():
        sources = {name: [(int(s.source()), s.staticValue(), s.parameterName(), s.outputChildId(),
                           s.outputName(), s.expression()) for s in values]
                   for name, values in child.parameterSources().items()}
        steps[child_id] = (child.algorithmId(), child.description(),
                           sorted(d.childId for d in child.dependencies()), sources)
    return {"inputs": inputs, "steps": steps}


def test_the_shipped_model_is_what_the_builder_makes(resolved):
    import build_full_analysis_model

    shipped = QgsProcessingModelAlgorithm()
    assert shipped.fromFile(str(build_full_analysis_model.MODEL_PATH))
    built = build_full_analysis_model.build()
    assert model_summary(built) == model_summary(shipped), (
        "resources/models/full_analysis.model3 is out of date; run "
        "QT_QPA_PLATFORM=offscreen python3 scripts/build_full_analysis_model.py")
