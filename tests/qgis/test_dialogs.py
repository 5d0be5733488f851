"""Every algorithm's dialog and the shipped model in the Graphical Modeler, opened offscreen as a
user opens them: no Python error, a widget for every parameter, nothing wider than the dialog
(the browse buttons stay in view), and a screenshot of each in tests/qgis/artifacts/ to look at."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from qgis.core import Qgis, QgsApplication
from qgis.gui import QgsBrowserGuiModel, QgsCollapsibleGroupBoxBasic
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtWidgets import QAbstractScrollArea, QApplication, QGroupBox, QWidget

#: where the screenshots go (a writable folder of the caller's choice where the checkout is not)
ARTIFACTS = Path(os.environ.get("SOILP_TEST_ARTIFACTS") or ROOT / "tests" / "qgis" / "artifacts")
#: the size the Processing dialog opens at the first time (qgsprocessingalgorithmdialogbase.ui)
DEFAULT_SIZE = (688, 523)
ALGORITHMS = ["checkengine", "installengine", "syntheticworld", "importstack", "aggregatetime",
              "aligngrid",
              "rasterizeecoregions", "ecoregionseries", "copuladependence", "laggeddependence",
              "ridgecontrol", "bayesiandrivers", "bayesiandriverslayers", "report",
              "fullanalysis"]


@pytest.fixture
def python_errors():
    """Python errors while the dialog is open: exceptions reaching sys.excepthook (what QGIS
    shows as the yellow 'Python error' bar) and critical messages in the log."""
    errors: list[str] = []
    previous = sys.excepthook

    def hook(kind, value, traceback):
        errors.append(f"{kind.__name__}: {value}")

    def logged(message, tag, level):
        if level == Qgis.MessageLevel.Critical:
            errors.append(f"[{tag}] {message}")

    sys.excepthook = hook
    log = QgsApplication.messageLog()
    log.messageReceived.connect(logged)
    yield errors
    log.messageReceived.disconnect(logged)
    sys.excepthook = previous


@pytest.fixture(scope="module")
def desktop(qgis_iface):
    """pytest-qgis's interface stub with what the Processing dialogs ask the desktop for."""
    browser = QgsBrowserGuiModel()
    stubs = {"browserModel": lambda: browser, "activeLayer": lambda: None,
             "iconSize": lambda dock=False: QSize(24, 24)}
    previous = {name: getattr(qgis_iface, name, None) for name in stubs}
    for name, stub in stubs.items():
        setattr(qgis_iface, name, stub)
    yield qgis_iface
    for name, original in previous.items():
        setattr(qgis_iface, name, original)


def settle(widget, rounds: int = 5) -> None:
    for _ in range(rounds):
        QApplication.processEvents()


def screenshot(widget, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(ARTIFACTS / f"{name}.png"))


def registered(name: str):
    provider = QgsApplication.processingRegistry().providerById("soilp")
    provider.refreshAlgorithms()   # shipped models resolve their steps once the provider is in
    return QgsApplication.processingRegistry().algorithmById(f"soilp:{name}")


def test_every_algorithm_is_covered(soilp_provider):
    provider = QgsApplication.processingRegistry().providerById("soilp")
    assert {a.name() for a in provider.algorithms()} == set(ALGORITHMS)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_the_algorithm_dialog_opens(soilp_provider, desktop, python_errors, name):
    import processing

    algorithm = registered(name)
    assert algorithm is not None
    dialog = processing.createAlgorithmDialog(algorithm.id())
    dialog.show()
    dialog.resize(*DEFAULT_SIZE)
    settle(dialog)
    screenshot(dialog, f"dialog_{name}")
    panel = dialog.mainWidget()
    for definition in algorithm.parameterDefinitions():
        wrapper = panel.wrappers.get(definition.name())
        assert wrapper is not None and wrapper.wrappedWidget() is not None, definition.name()
    # no horizontal scrolling: every row (and its browse button) fits the dialog's width, the
    # advanced parameters shown too
    for group in panel.findChildren(QGroupBox):   # "Advanced Parameters"
        sip.cast(group, QgsCollapsibleGroupBoxBasic).setCollapsed(False)
    settle(dialog)
    for area in panel.findChildren(QAbstractScrollArea):
        if area.isVisible() and area.horizontalScrollBar().isVisible():
            room = area.viewport().width()
            content = area.widget()
            margins = content.layout().contentsMargins()
            limit = room - margins.left() - margins.right() - 20   # (group box margins)
            wide = {(child.objectName() or getattr(child, "text", lambda: "")() or
                     type(child).__name__): child.minimumSizeHint().width()
                    for child in content.findChildren(QWidget)
                    if child.isVisible() and child.minimumSizeHint().width() > limit}
            raise AssertionError(f"{name}: the parameters need more width than the dialog's "
                                 f"{room} px: {wide}")
    dialog.close()
    settle(dialog)
    assert python_errors == []


def test_the_model_opens_in_the_modeler(soilp_provider, desktop, python_errors):
    from processing.modeler.ModelerDialog import ModelerDialog

    model = registered("fullanalysis")
    dialog = ModelerDialog.create(model)
    dialog.resize(1400, 900)
    dialog.show()
    settle(dialog)
    screenshot(dialog, "modeler_fullanalysis")
    shown = dialog.model()
    assert len(shown.childAlgorithms()) == 42
    assert all(child.algorithm() is not None for child in shown.childAlgorithms().values())
    ok, errors = shown.validate()
    assert ok, errors[:3]
    # every step and input is drawn in the scene
    assert len(dialog.view().scene().items()) > 42 + len(shown.parameterComponents())
    dialog.setDirty(False)   # close without the "save changes?" question
    dialog.close()
    settle(dialog)
    assert python_errors == []
