"""The edge-case catalogue: curated YAML fixtures, boundary values derived from the data model, and the
per-tier plan of what is planted where (with its manifest)."""

from crm_mock.edge_cases.catalog import THEMES, EdgeCase, load_catalog

__all__ = ["THEMES", "EdgeCase", "load_catalog"]
