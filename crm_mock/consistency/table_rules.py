"""Rules every table obeys, derived from the data model: keys, model conformance, references, replicas."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.consistency.results import RuleResult, combine, rule_result
from crm_mock.model import Kind, Table

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID_RE = re.compile(UUID_PATTERN)


def _keys(table: Table, data: pa.Table) -> pd.Series:
    """Each row's primary key as text ("a|b" for composite keys), to name offending rows."""
    columns = [data.column(k) for k in table.primary_key]
    joined = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, "|")
    return joined.to_pandas()


def primary_key_unique(table: Table, data: pa.Table) -> RuleResult:
    keys = _keys(table, data)
    duplicated = keys[keys.duplicated(keep="first")]
    missing = sum(data.column(k).null_count for k in table.primary_key)
    offenders = list(duplicated.unique()) + ["<null key>"] * missing
    return rule_result("primary_key_unique", table.qualified_name, offenders, rows=data.num_rows)


def conforms_to_model(table: Table, data: pa.Table) -> RuleResult:
    """Nulls only where nullable, text within max length, codes from the vocabulary, UUIDs canonical."""
    results = []
    key = _keys(table, data)
    for column in table.columns:
        values = data.column(column.name)
        bad = np.zeros(data.num_rows, dtype=bool)
        if not column.nullable:
            bad |= values.is_null().to_numpy(zero_copy_only=False)
        present = pc.fill_null(values.is_valid(), False).to_numpy(zero_copy_only=False)
        if column.kind is Kind.UUID:
            ok = pc.match_substring_regex(values, UUID_PATTERN)
            bad |= present & ~pc.fill_null(ok, True).to_numpy(zero_copy_only=False)
        elif column.kind in (Kind.TEXT, Kind.CODE):
            too_long = pc.greater(pc.utf8_length(values), column.max_length)
            bad |= pc.fill_null(too_long, False).to_numpy(zero_copy_only=False)
            if column.vocabulary:
                known = pc.is_in(values, value_set=pa.array(column.vocabulary))
                bad |= present & ~pc.fill_null(known, True).to_numpy(zero_copy_only=False)
        elif column.kind is Kind.MONEY:
            cents = pc.multiply(values, 100).to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):
                # relative: a float64 amount of hundreds of millions (yen, rupees) is a few ulps off the grid
                off_grid = np.abs(cents - np.round(cents)) > np.maximum(1e-6, np.abs(cents) * 1e-12)
                out_of_range = np.abs(cents) >= 1e12
            bad |= present & (off_grid | out_of_range)
        results.append(rule_result(f"{column.name}", table.qualified_name, key[bad].tolist()))
    return combine("conforms_to_model", table.qualified_name, results)


def foreign_keys_resolve(table: Table, data: pa.Table, targets: dict[str, pa.Array | pa.ChunkedArray],
                         key_column: str | None = None) -> RuleResult:
    """Every non-null reference in ``data`` is among the target keys given for its column."""
    results = []
    label = data.column(key_column or table.primary_key[0])
    for column_name, target_keys in targets.items():
        values = data.column(column_name)
        found = pc.is_in(values, value_set=pc.unique(target_keys))
        dangling = pc.and_(values.is_valid(), pc.invert(pc.fill_null(found, False)))
        offenders = pc.filter(label, dangling).to_pylist()
        results.append(rule_result(column_name, table.qualified_name, offenders))
    return combine("foreign_keys_resolve", table.qualified_name, results)


def replica_matches_master(replica: Table, replica_data: pa.Table, master_data: pa.Table) -> RuleResult:
    """Every master row has its replica, no replica row lacks a master, and copied fields are equal."""
    assert replica.replica_of is not None
    key = replica.primary_key[0]
    copied = list(replica.replica_of.columns)
    left = master_data.select([key, *copied]).to_pandas().set_index(key)
    right = replica_data.select([key, *copied]).to_pandas().set_index(key)
    missing = left.index.difference(right.index)
    orphaned = right.index.difference(left.index)
    common = left.index.intersection(right.index)
    lhs, rhs = left.loc[common, copied], right.loc[common, copied]
    differs = ~((lhs == rhs) | (lhs.isna() & rhs.isna()))
    drifted_rows = common[differs.any(axis=1).to_numpy()]
    drifted_columns = {c: int(differs[c].sum()) for c in copied if differs[c].any()}
    return combine("replica_matches_master", replica.qualified_name, [
        rule_result("missing", replica.qualified_name, missing.tolist()),
        rule_result("orphaned", replica.qualified_name, orphaned.tolist()),
        rule_result("drifted", replica.qualified_name, drifted_rows.tolist(), columns=drifted_columns),
    ])
