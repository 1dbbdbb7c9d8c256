"""The Dagster layer: thin assets, checks, jobs and resources over the pure packages.

Loaded by `crm_mock.definitions` (the one root); each folder is a stage of the lineage graph.
"""
