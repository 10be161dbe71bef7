"""The data map: which store, table and column holds which category of whose data, and how the
tables link to a person. Load it, build its identity/reference graph, write it back."""

from troth.datamap.graph import Edge, FieldId, Graph, TableId, holds_personal_data
from troth.datamap.loader import DATAMAP_FILE, DataMapDocument, load_datamap
from troth.datamap.model import (
    DataMap,
    Dataset,
    EraseAction,
    LegalHold,
    MapField,
    MaskStrategy,
    Reference,
    RefKind,
    System,
    Table,
)
from troth.datamap.yamlout import dump_datamap

__all__ = [
    "DATAMAP_FILE",
    "DataMap",
    "DataMapDocument",
    "Dataset",
    "Edge",
    "EraseAction",
    "FieldId",
    "Graph",
    "LegalHold",
    "MapField",
    "MaskStrategy",
    "RefKind",
    "Reference",
    "System",
    "Table",
    "TableId",
    "dump_datamap",
    "holds_personal_data",
    "load_datamap",
]
