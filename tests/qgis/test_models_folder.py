"""The shipped model where QGIS users look for models: copied into the Processing models folder,
listed by the Toolbox's Models provider with Edit Model… enabled, and a user's edits kept."""

from __future__ import annotations

import pytest
from conftest import ROOT
from qgis.core import QgsApplication

SHIPPED = ROOT / "resources" / "models" / "full_analysis.model3"


@pytest.fixture
def models_folder(soilp_provider, tmp_path):
    """The Processing models folder pointed at a temporary folder for the test."""
    from processing.core.ProcessingConfig import ProcessingConfig
    from processing.modeler.ModelerUtils import ModelerUtils

    previous = ProcessingConfig.getSetting(ModelerUtils.MODELS_FOLDER)
    ProcessingConfig.setSettingValue(ModelerUtils.MODELS_FOLDER, str(tmp_path))
    yield tmp_path
    ProcessingConfig.setSettingValue(ModelerUtils.MODELS_FOLDER, previous)
    QgsApplication.processingRegistry().providerById("model").refreshAlgorithms()


def test_the_model_shows_under_models_with_edit_model(models_folder):
    from processing.modeler.EditModelAction import EditModelAction
    from soilp.processing_algs.shipped_models import install_shipped_models

    written = install_shipped_models()
    copy = models_folder / "soilp" / "full_analysis.model3"
    assert written == [copy]
    assert copy.read_bytes() == SHIPPED.read_bytes()
    model = QgsApplication.processingRegistry().algorithmById("model:Full dependence analysis")
    assert model is not None, "not listed by the Models provider"
    assert model.provider().id() == "model"
    assert model.sourceFilePath() == str(copy)   # the Modeler saves edits back there
    ok, errors = model.validate()
    assert ok and errors == []
    action = EditModelAction()
    action.itemData = model
    assert action.isEnabled()


def test_an_edited_copy_is_kept_and_an_untouched_one_updated(models_folder, tmp_path_factory):
    from soilp.processing_algs.shipped_models import install_shipped_models

    source = tmp_path_factory.mktemp("shipped")
    (source / "full_analysis.model3").write_bytes(SHIPPED.read_bytes())
    install_shipped_models(source=source)
    copy = models_folder / "soilp" / "full_analysis.model3"

    # a new plugin version replaces the untouched copy
    (source / "full_analysis.model3").write_bytes(SHIPPED.read_bytes() + b"\n")
    assert install_shipped_models(source=source) == [copy]
    assert copy.read_bytes() == SHIPPED.read_bytes() + b"\n"

    # the user edits it in the Modeler: the next version leaves it alone, and says so
    edited = copy.read_bytes().replace(b"Full dependence analysis", b"My analysis")
    copy.write_bytes(edited)
    (source / "full_analysis.model3").write_bytes(SHIPPED.read_bytes())
    messages = []
    assert install_shipped_models(source=source, log=messages.append) == []
    assert copy.read_bytes() == edited
    assert len(messages) == 1 and "left as it is" in messages[0]
