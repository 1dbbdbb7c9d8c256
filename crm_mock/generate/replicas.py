"""Replica tables: a service's copy of another service's master, under the master's column names."""

from __future__ import annotations

import pyarrow as pa

from crm_mock.generate.frame import build_table
from crm_mock.model import CATALOG, Table


def project_replica(replica: Table | str, master_rows: pa.Table) -> pa.Table:
    """Copy the master columns a replica carries; replicas with columns of their own are built elsewhere."""
    replica = CATALOG[replica] if isinstance(replica, str) else replica
    if replica.replica_of is None:
        raise ValueError(f"{replica.qualified_name} is not a replica")
    if replica.owned_columns:
        raise ValueError(f"{replica.qualified_name} owns {replica.owned_columns}; it is not a plain copy")
    return build_table(replica, {name: master_rows.column(name) for name in replica.column_names})
