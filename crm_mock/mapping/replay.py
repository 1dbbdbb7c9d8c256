"""The replay's bodies from a mapping: the same renames, code spellings, cents and constants the loads use,
so records replayed to a service's API arrive as the service's own tables spell them.

`mapped_body` turns a mapped table into a target file's ``Body``; ``crm-mock mapping replay-bodies`` prints
one per event of the replay plan whose table the mapping covers, to paste under the events of a target file.
Forms come from what the file states (``money: cents``): the replay never sees the database.
"""

from __future__ import annotations

from crm_mock.mapping.spec import Constant, TableSpec, TargetMapping
from crm_mock.model import CATALOG, Kind
from crm_mock.replay.events import BY_ID, DRIVE
from crm_mock.replay.target import Body, Child


def _parts(table: str, spec: TableSpec) -> dict:
    model = CATALOG[table]
    columns = [c for c in model.column_names if c not in spec.omit]
    out: dict = {"columns": columns, "rename": {}, "values": {}, "cents": []}
    for name in columns:
        column, column_spec = model.column(name), spec.column_spec(name)
        if column_spec.column != name:
            out["rename"][name] = column_spec.column
        values = column_spec.value_map(column)
        if values is not None and column.kind is Kind.CODE:
            out["values"][name] = values
        if column_spec.money == "cents":
            out["cents"].append(name)
    return out


def _spec(mapping: TargetMapping, table: str) -> TableSpec | None:
    service, name = table.split(".")
    service_spec = mapping.services.get(service)
    return service_spec.tables.get(name) if service_spec else None


def mapped_body(mapping: TargetMapping, event_id: str) -> Body | None:
    """The body of ``event_id`` as the mapping spells its table (None when the mapping does not cover it)."""
    event = BY_ID[event_id]
    spec = _spec(mapping, event.table) if event.model_table else None
    if spec is None:
        return None
    children = {}
    for child in event.children:
        child_spec = _spec(mapping, child)
        if child_spec is not None:
            children[CATALOG[child].name] = Child(**_parts(child, child_spec))
    constants = {name: fill.value for name, fill in spec.fill.items() if isinstance(fill, Constant)}
    return Body(**_parts(event.table, spec), constants=constants, children=children)


def mapped_bodies(mapping: TargetMapping) -> dict[str, Body]:
    """Every driven event whose table the mapping covers -> its body."""
    bodies = {}
    for event_id, event in BY_ID.items():
        if event.kind == DRIVE and (body := mapped_body(mapping, event_id)) is not None:
            bodies[event_id] = body
    return bodies
