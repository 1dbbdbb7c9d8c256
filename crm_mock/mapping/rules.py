"""The rule registry as it applies through a mapping: the same rules and names, minus what the services do
not keep. A table a service skips is not loaded, so the rules on it (or reading it) cannot say anything;
a column a service leaves out is not checked for conformance nor compared between master and replica."""

from __future__ import annotations

import dataclasses

from crm_mock.consistency.registry import registry
from crm_mock.consistency.rule import Rule
from crm_mock.consistency.rules.model import conforms_to_model, replica_in_sync
from crm_mock.mapping.port import MappedDatabases
from crm_mock.mapping.spec import TargetMapping
from crm_mock.model import CATALOG, ReplicaOf, Table
from crm_mock.sinks.databases import ServiceDatabases


def _omitted(mapping: TargetMapping, table: Table) -> set[str]:
    spec = mapping.services.get(table.service)
    if spec is None or table.name not in spec.tables:
        return set()
    return set(spec.tables[table.name].omit)


def _skipped(mapping: TargetMapping, qualified: str) -> bool:
    service, name = qualified.split(".")
    spec = mapping.services.get(service)
    return spec is not None and name in spec.skip


def _not_loaded(rule: Rule, mapping: TargetMapping) -> Rule:
    """Stands for a rule on a table the mapping skips: it passes and says why, so a check keeps its result."""
    skipped = ", ".join(t for t in rule.tables if _skipped(mapping, t))

    def find(ctx, found) -> None:
        found.details["not_loaded"] = f"the mapping skips {skipped}"

    return dataclasses.replace(rule, find=find)


def mapped_rules(mapping: TargetMapping, rules: tuple[Rule, ...] | None = None,
                 keep_skipped: bool = False) -> tuple[Rule, ...]:
    """``rules`` (default: the registry) as they apply through ``mapping``; ``keep_skipped`` keeps a passing
    stand-in for each rule on a skipped table, so the result lines up with ``rules`` one for one."""
    out = []
    for rule in registry() if rules is None else rules:
        if any(_skipped(mapping, t) for t in rule.tables):
            if keep_skipped:
                out.append(_not_loaded(rule, mapping))
            continue
        table = rule.table
        if rule.name == "conforms_to_model" and _omitted(mapping, table):
            kept = tuple(c for c in table.columns if c.name not in _omitted(mapping, table))
            rule = conforms_to_model(dataclasses.replace(table, columns=kept))
        elif rule.name == "replica_in_sync":
            master = CATALOG[table.replica_of.master]
            gone = _omitted(mapping, table) | _omitted(mapping, master)
            if gone & set(table.replica_of.columns):
                copied = tuple(c for c in table.replica_of.columns if c not in gone)
                rule = replica_in_sync(dataclasses.replace(table, replica_of=ReplicaOf(master.qualified_name, copied)))
        out.append(rule)
    return tuple(out)


def rules_for(databases: ServiceDatabases, rules: tuple[Rule, ...] | None = None,
              keep_skipped: bool = False) -> tuple[Rule, ...]:
    """The rules to run on ``databases``: ``rules`` (default: the registry), narrowed to what a mapping loads."""
    if isinstance(databases, MappedDatabases):
        return mapped_rules(databases.mapping, rules, keep_skipped)
    return registry() if rules is None else tuple(rules)
