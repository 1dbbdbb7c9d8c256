"""Reading a scenario: YAML (dates kept as text), ``reference_date: today`` resolved once, the model
validated, then every tier planned, so a file that cannot be planned is refused before anything runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import ValidationError

from crm_mock.scenario.plan import plan_tier
from crm_mock.scenario.spec import DEFAULT_SCENARIO, TIERS, Scenario, ScenarioError


def _location(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


TODAY = "today"


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _resolve_today(data: object, today: dt.date | None) -> object:
    """``reference_date: today`` becomes a concrete date before anything is planned, so one run plans one day."""
    if isinstance(data, dict) and str(data.get("reference_date", "")).strip().lower() == TODAY:
        return {**data, "reference_date": today or utc_today()}
    return data


def parse_scenario(data: object, source: str = "<scenario>", today: dt.date | None = None) -> Scenario:
    """Validate a scenario; ``reference_date: today`` means ``today`` (default: the current UTC date)."""
    try:
        scenario = Scenario.model_validate(_resolve_today(data, today))
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"  {_location(error)}: {message}")
        raise ScenarioError(f"invalid scenario {source}:\n" + "\n".join(lines)) from None
    for tier in TIERS:
        try:
            plan_tier(scenario, tier)
        except ScenarioError as exc:  # names the field; say which file
            raise ScenarioError(f"invalid scenario {source}:\n  {exc}") from None
    return scenario


class _TextDatesLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates reach pydantic as text, so a bad one is reported with
    its field name instead of failing inside the YAML parser."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_scenario(path: str | Path | None = None, today: dt.date | None = None) -> Scenario:
    """Load and validate a scenario file (the bundled default when ``path`` is None); ``reference_date:
    today`` resolves to ``today`` (default: the current UTC date)."""
    path = Path(path) if path else DEFAULT_SCENARIO
    if not path.is_file():
        raise ScenarioError(f"scenario file not found: {path}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDatesLoader)  # noqa: S506 (safe loader)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid scenario {path}: not valid YAML ({exc})") from None
    return parse_scenario(data, str(path), today)
