"""A Django project the way a service team writes it: seven apps, one per crm_mock service, with managed
models (Django naming: ``contacts_account``, ``id`` keys, ``<name>_id`` foreign keys, lower-case choices,
extra NOT NULL columns) whose tables ``migrate`` creates. crm_mock loads them through
``examples/mappings/django.yaml``.

Django allows one configuration per process and ``crm_mock_tests/django_project`` configures another, so
the tests drive this one in a child process (``python -m crm_mock_tests.django_services``).
"""

from __future__ import annotations

import django
from django.conf import settings

# service -> Django app (the app label is the last part)
APPS = {
    "hr": "crm_mock_tests.django_services.hr",
    "contact": "crm_mock_tests.django_services.contacts",
    "inventory": "crm_mock_tests.django_services.inventory",
    "sales": "crm_mock_tests.django_services.sales",
    "orders": "crm_mock_tests.django_services.orders",
    "finance": "crm_mock_tests.django_services.finance",
    "support": "crm_mock_tests.django_services.support",
}
SERVICE_OF_APP = {module.rsplit(".", 1)[1]: service for service, module in APPS.items()}


class ServiceRouter:
    """Each app's models live in its service's database (the alias is the service's name)."""

    def db_for_read(self, model, **hints):
        return SERVICE_OF_APP.get(model._meta.app_label)

    db_for_write = db_for_read

    def allow_relation(self, a, b, **hints):
        return a._meta.app_label == b._meta.app_label

    def allow_migrate(self, db, app_label, **hints):
        return SERVICE_OF_APP.get(app_label) == db


def configure(databases: dict[str, dict]) -> None:
    """``databases``: service -> Django DATABASES entry."""
    settings.configure(
        INSTALLED_APPS=list(APPS.values()),
        DATABASES={"default": {"ENGINE": "django.db.backends.dummy"}, **databases},
        DATABASE_ROUTERS=[ServiceRouter()],
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
