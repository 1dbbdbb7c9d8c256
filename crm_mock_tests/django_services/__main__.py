"""Drive the Django project in its own process: ``python -m crm_mock_tests.django_services CONFIG COMMAND``.

CONFIG is a JSON file: {"databases": {service: Django DATABASES entry}}. COMMAND is one of
  migrate            create every service's tables with ``migrate``
  makemigrations     write the apps' migrations (development)
  orm                read standard input as JSON requests, answer with JSON on standard output
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    config_path, command = argv[0], argv[1]
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    from crm_mock_tests.django_services import APPS, configure

    configure(config["databases"])
    from django.core.management import call_command

    if command == "migrate":
        for service in config["databases"]:
            call_command("migrate", database=service, verbosity=0)
        return 0
    if command == "makemigrations":
        call_command("makemigrations", *[m.rsplit(".", 1)[1] for m in APPS.values()], verbosity=1)
        return 0
    if command == "orm":
        from crm_mock_tests.django_services.orm import answer

        json.dump([answer(request) for request in json.load(sys.stdin)], sys.stdout)
        return 0
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
