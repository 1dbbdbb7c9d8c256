"""The edge-case catalogue: curated YAML fixtures and boundary values derived from the data model. A leaf:
it knows only the model; the generators plant the cases and record what they planted."""

from crm_mock.edge_cases.catalog import THEMES, EdgeCase, load_catalog, theme_tables

__all__ = ["THEMES", "EdgeCase", "load_catalog", "theme_tables"]
