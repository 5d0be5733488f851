"""QGIS enum values in a form that resolves on QGIS 3.22 (PyQt5) through QGIS 4.x (PyQt6).

PyQt6 only resolves fully scoped enums (``QgsProcessingParameterNumber.Type.Integer``, never
``QgsProcessingParameterNumber.Integer``), and QGIS moved several Processing enums into ``Qgis``
with renamed members (3.30: ``Qgis.GeometryType``; 3.36: ``Qgis.ProcessingSourceType``,
``Qgis.ProcessingNumberParameterType``, ``Qgis.ProcessingParameterFlag``,
``Qgis.ProcessingFileParameterBehavior``, ``Qgis.ProcessingFieldParameterDataType``). Each name
here is the member of whichever enum the running QGIS has, the new home first; the plugin uses
these names and never spells an enum that moved. Enums that did not move are used fully scoped
where they are needed (e.g. ``QgsVectorFileWriter.WriterError.NoError``, re-exported here so the
writer's callers need not know).
"""

from __future__ import annotations

from typing import Any

from qgis.core import (
    Qgis,
    QgsProcessing,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsVectorFileWriter,
    QgsWkbTypes,
)


def _member(new_enum: str, new_member: str, old_enum: Any, old_member: str) -> Any:
    """``Qgis.<new_enum>.<new_member>`` where this QGIS has it, else ``old_enum.<old_member>``
    (the fully scoped pre-move form, which QGIS 3.22's bindings resolve)."""
    enum = getattr(Qgis, new_enum, None)
    if enum is not None:
        return getattr(enum, new_member)
    return getattr(old_enum, old_member)


# Processing source types (QgsProcessing.SourceType → Qgis.ProcessingSourceType in 3.36)
SOURCE_VECTOR_ANY = _member("ProcessingSourceType", "VectorAnyGeometry",
                            QgsProcessing.SourceType, "TypeVectorAnyGeometry")
SOURCE_VECTOR_POINT = _member("ProcessingSourceType", "VectorPoint",
                              QgsProcessing.SourceType, "TypeVectorPoint")
SOURCE_VECTOR_LINE = _member("ProcessingSourceType", "VectorLine",
                             QgsProcessing.SourceType, "TypeVectorLine")
SOURCE_VECTOR_POLYGON = _member("ProcessingSourceType", "VectorPolygon",
                                QgsProcessing.SourceType, "TypeVectorPolygon")
SOURCE_RASTER = _member("ProcessingSourceType", "Raster", QgsProcessing.SourceType, "TypeRaster")
SOURCE_FILE = _member("ProcessingSourceType", "File", QgsProcessing.SourceType, "TypeFile")

# Number parameter types (QgsProcessingParameterNumber.Type → Qgis.ProcessingNumberParameterType)
NUMBER_INTEGER = _member("ProcessingNumberParameterType", "Integer",
                         QgsProcessingParameterNumber.Type, "Integer")
NUMBER_DOUBLE = _member("ProcessingNumberParameterType", "Double",
                        QgsProcessingParameterNumber.Type, "Double")

# Parameter flags (QgsProcessingParameterDefinition.Flag → Qgis.ProcessingParameterFlag)
FLAG_ADVANCED = _member("ProcessingParameterFlag", "Advanced",
                        QgsProcessingParameterDefinition.Flag, "FlagAdvanced")
FLAG_HIDDEN = _member("ProcessingParameterFlag", "Hidden",
                      QgsProcessingParameterDefinition.Flag, "FlagHidden")
FLAG_OPTIONAL = _member("ProcessingParameterFlag", "Optional",
                        QgsProcessingParameterDefinition.Flag, "FlagOptional")

# File parameter behaviour (QgsProcessingParameterFile.Behavior →
# Qgis.ProcessingFileParameterBehavior)
FILE_BEHAVIOR_FILE = _member("ProcessingFileParameterBehavior", "File",
                             QgsProcessingParameterFile.Behavior, "File")
FILE_BEHAVIOR_FOLDER = _member("ProcessingFileParameterBehavior", "Folder",
                               QgsProcessingParameterFile.Behavior, "Folder")

# Field parameter data types (QgsProcessingParameterField.DataType →
# Qgis.ProcessingFieldParameterDataType)
FIELD_ANY = _member("ProcessingFieldParameterDataType", "Any",
                    QgsProcessingParameterField.DataType, "Any")
FIELD_NUMERIC = _member("ProcessingFieldParameterDataType", "Numeric",
                        QgsProcessingParameterField.DataType, "Numeric")
FIELD_STRING = _member("ProcessingFieldParameterDataType", "String",
                       QgsProcessingParameterField.DataType, "String")

# Geometry types (QgsWkbTypes.GeometryType → Qgis.GeometryType in 3.30)
GEOMETRY_POINT = _member("GeometryType", "Point", QgsWkbTypes.GeometryType, "PointGeometry")
GEOMETRY_LINE = _member("GeometryType", "Line", QgsWkbTypes.GeometryType, "LineGeometry")
GEOMETRY_POLYGON = _member("GeometryType", "Polygon", QgsWkbTypes.GeometryType, "PolygonGeometry")

# Vector file writer result (did not move; scoped in both)
WRITER_NO_ERROR = QgsVectorFileWriter.WriterError.NoError


def field_names(algorithm: Any, parameters: dict, name: str, context: Any) -> list:
    """The field names a field parameter holds: ``parameterAsStrings`` where QGIS has it (3.32;
    ``parameterAsFields`` is deprecated from then on), else ``parameterAsFields``."""
    if hasattr(algorithm, "parameterAsStrings"):
        return list(algorithm.parameterAsStrings(parameters, name, context))
    return list(algorithm.parameterAsFields(parameters, name, context))


def as_int(member: Any) -> int:
    """The integer behind an enum member: PyQt5's enums are ints, PyQt6's are ``enum.Enum``
    members (``.value``). For comparing with the plain ints QGIS returns in lists such as
    ``QgsProcessingParameterFeatureSource.dataTypes()``."""
    return int(getattr(member, "value", member))


def has_source_type(data_types, member: Any) -> bool:
    """Whether a list of source types (as QGIS returns it, ints or enum members) holds
    ``member``."""
    return as_int(member) in {as_int(value) for value in data_types}
