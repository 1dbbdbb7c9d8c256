"""One data model for every service: tables, keys, lengths, vocabularies, replica mappings."""

from crm_mock.model.catalog import CATALOG, SERVICES, Catalog
from crm_mock.model.schema import Column, Kind, Reference, ReplicaOf, Table

__all__ = ["CATALOG", "SERVICES", "Catalog", "Column", "Kind", "Reference", "ReplicaOf", "Table"]
