"""Pure mapping from Palette objects to Backstage entities: names, annotations, relations, validation,
rendering. Imports only ``ingestor.palette.models``; no I/O, no logging.
"""

from ingestor.catalog.entities import map_inventory
from ingestor.catalog.inventory import GroupRecord, InstanceInventory, PartKey
from ingestor.catalog.options import MappingOptions, ResourceSwitches
from ingestor.catalog.render import render_json, render_yaml
from ingestor.catalog.result import Edge, MappedEntity, MappingResult, Problem, ProfileVersion
from ingestor.catalog.validation import validate_entity

__all__ = [
    "Edge",
    "GroupRecord",
    "InstanceInventory",
    "MappedEntity",
    "MappingOptions",
    "MappingResult",
    "PartKey",
    "Problem",
    "ProfileVersion",
    "ResourceSwitches",
    "map_inventory",
    "render_json",
    "render_yaml",
    "validate_entity",
]
