"""Request bodies, task kwargs and paths of one event, from its plan record and the target's choices."""

from __future__ import annotations

import string
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import quote

from crm_mock.model import CATALOG
from crm_mock.replay.events import BY_ID
from crm_mock.replay.target import Body, Child

Captures = Mapping[str, Mapping[str, object]]  # record key -> capture name -> value


class MissingCapture(LookupError):
    """A path needs a server-assigned id that the event which assigns it has not captured."""


def _columns(table_name: str, chosen: list[str] | str, record: Mapping) -> list[str]:
    if chosen != "*":
        return list(chosen)
    try:
        return [c for c in CATALOG[table_name].column_names if c in record]
    except KeyError:  # a derived table outside the model: the record's own fields
        return [c for c in record if not isinstance(record[c], list)]


def _spelled(spec: Body | Child, column: str, value: object) -> object:
    """A wire value as the service takes it: a code through its value map, money in cents if asked."""
    if value is None:
        return None
    if column in spec.values:
        return spec.values[column].get(value, value)
    if column in spec.cents:
        return int((Decimal(str(value)) * 100).to_integral_value(ROUND_HALF_EVEN))
    return value


def build_body(event_id: str, spec: Body, record: Mapping) -> dict[str, object]:
    event = BY_ID[event_id]
    body = {spec.rename.get(c, c): _spelled(spec, c, record.get(c)) for c in _columns(event.table, spec.columns, record)}
    for child_name, how in spec.children.items():
        table = next(c for c in event.children if CATALOG[c].name == child_name)
        body[how.name or child_name] = [
            {how.rename.get(c, c): _spelled(how, c, line.get(c)) for c in _columns(table, how.columns, line)}
            for line in record.get(child_name, [])
        ]
    body.update(spec.constants)
    return body


def render_path(template: str, record: Mapping, key: str, captures: Captures) -> str:
    """``{column}`` is the record's value; ``{name}`` a value captured for this record; ``{name@column}``
    a value captured for the record whose key is in ``column``."""
    out = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if not field:
            continue
        name, _, via = field.partition("@")
        if not via and name in record:
            value = record[name]
        else:
            owner = str(record[via]) if via else key
            try:
                value = captures[owner][name]
            except KeyError:
                raise MissingCapture(f"no {name!r} captured for {owner}") from None
        out.append(quote("" if value is None else str(value), safe=""))
    return "".join(out)


def dig(document: object, dotted: str) -> object:
    """A dotted field of a JSON document (``id``, ``data.id``); None when absent."""
    for part in dotted.split("."):
        if isinstance(document, Mapping):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document
