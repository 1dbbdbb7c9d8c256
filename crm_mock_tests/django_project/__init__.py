"""A small Django project the way a service team would write it against crm_mock's tables: hand-written,
unmanaged models (``managed = False``, ``db_table`` set) for two services, with ``USE_TZ = True``.

Each service is its own database, as in production; the tests reach them through one database alias per
(backend, service) and ``.using(alias)``. Related objects follow the instance's database.
"""

from __future__ import annotations

from pathlib import Path

import django
from django.conf import settings

APPS = ["crm_mock_tests.django_project.orders", "crm_mock_tests.django_project.finance"]


def sqlite_database(path: Path) -> dict:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}


def postgres_database(name: str) -> dict:
    return {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres", "HOST": "127.0.0.1",
            "PORT": "5432", "OPTIONS": {"connect_timeout": 10}}


def configure(databases: dict[str, dict]) -> None:
    """Settings for the whole test process (Django allows one configuration per process)."""
    settings.configure(
        INSTALLED_APPS=APPS,
        DATABASES={"default": {"ENGINE": "django.db.backends.dummy"}, **databases},
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
