"""Drives crm_mock_tests/django_services from the tests: its databases on SQLite or on the real PostgreSQL
(uniquely named, dropped afterwards), ``migrate``, and ORM requests answered in a child process."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from crm_mock.model import SERVICES

ROOT = Path(__file__).resolve().parents[1]
MAINTENANCE = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=10"


class DjangoServices:
    """The Django project configured for one set of service databases."""

    def __init__(self, config: Path, databases: dict[str, dict]) -> None:
        self.config = config
        config.write_text(json.dumps({"databases": databases}), encoding="utf-8")

    def _run(self, command: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-m", "crm_mock_tests.django_services", str(self.config), command],
                              input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=300)
        if done.returncode != 0:
            raise AssertionError(f"django {command} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def migrate(self) -> None:
        self._run("migrate")

    def orm(self, *requests: dict) -> list:
        return json.loads(self._run("orm", json.dumps(list(requests))))


def sqlite_services(config: Path, data_dir: Path, tier: str) -> DjangoServices:
    """Each service's Django database where crm_mock's SQLite port looks for it: data/<tier>/<service>.sqlite."""
    (data_dir / tier).mkdir(parents=True, exist_ok=True)
    return DjangoServices(config, {s: {"ENGINE": "django.db.backends.sqlite3", "NAME": str(data_dir / tier / f"{s}.sqlite")}
                                   for s in SERVICES})


@contextmanager
def postgres_services(config: Path, prefix: str = "crm_mock_mapping") -> Iterator[tuple[DjangoServices, str]]:
    """A database per service on the real server (a name unique to this run), with the crm_mock URL template
    that reaches them; every database is dropped afterwards."""
    stem = f"{prefix}_{secrets.token_hex(4)}"
    names = {s: f"{stem}_{s}" for s in SERVICES}
    try:
        with psycopg.connect(MAINTENANCE, autocommit=True) as conn:
            for name in names.values():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        databases = {s: {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres",
                         "HOST": "127.0.0.1", "PORT": "5432"} for s, name in names.items()}
        yield DjangoServices(config, databases), f"postgresql+psycopg://postgres@127.0.0.1:5432/{stem}_{{service}}"
    finally:
        with psycopg.connect(MAINTENANCE, autocommit=True) as conn:
            for name in names.values():
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
