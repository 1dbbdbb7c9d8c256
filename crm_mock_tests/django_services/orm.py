"""What the tests ask the Django ORM, answered as JSON with each value's Python type kept (aware moments with
their UTC offset, decimals as text, UUIDs, dates), so the test process can compare them with the store."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.apps import apps
from django.db import models


def value(v: object) -> object:
    if isinstance(v, dt.datetime):
        offset = v.utcoffset()
        return {"datetime": v.isoformat(), "utcoffset": None if offset is None else offset.total_seconds()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, Decimal):
        return {"decimal": str(v)}
    if isinstance(v, uuid.UUID):
        return {"uuid": str(v)}
    return v


def record(obj: models.Model) -> dict:
    return {f.attname: value(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def answer(request: dict) -> object:
    """{"get": "app.Model", "pk": ... (or "where": {field: value}), "follow": [fk or reverse names]} reads one
    row and its relations;
    {"count": "app.Model"}; {"update": "app.Model", "pk": ..., "set": {field: value}} saves through the ORM;
    {"create": "app.Model", "values": {...}} inserts one row."""
    if "count" in request:
        return apps.get_model(request["count"]).objects.count()
    if "create" in request:
        obj = apps.get_model(request["create"]).objects.create(**request["values"])
        return record(obj)
    model = apps.get_model(request.get("get") or request["update"])
    obj = model.objects.get(pk=request["pk"]) if "pk" in request else model.objects.get(**request["where"])
    if "update" in request:
        for name, new in request["set"].items():
            setattr(obj, name, new)
        obj.save()
        return record(obj)
    out = record(obj)
    out["choice_labels"] = {f.name: getattr(obj, f"get_{f.name}_display")() for f in obj._meta.concrete_fields
                            if f.choices}
    for name in request.get("follow", []):
        related = getattr(obj, name)
        if isinstance(related, models.Model):
            out[name] = record(related)
        else:  # a reverse relation's manager
            out[name] = sorted(str(r.pk) for r in related.all())
    return out
