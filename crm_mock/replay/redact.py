"""Keeps secrets out of everything replay writes: logs, the ledger, reports, Dagster metadata."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "***"
EXCERPT_CHARS = 600
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@", re.I)


class Redactor:
    """Masks known secret values (auth headers read from the environment) and URL passwords."""

    def __init__(self, secrets: Iterable[str] = (), secret_headers: Iterable[str] = ()) -> None:
        # longest first, so a secret that contains another is masked whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.secret_headers = {h.lower() for h in secret_headers} | {"authorization", "proxy-authorization",
                                                                     "cookie", "set-cookie", "x-api-key"}

    def text(self, value: object, limit: int | None = EXCERPT_CHARS) -> str:
        out = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", str(value))
        for secret in self.secrets:
            out = out.replace(secret, MASK)
        if limit is not None and len(out) > limit:
            out = out[:limit] + f"… ({len(out) - limit} more characters)"
        return out

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: (MASK if k.lower() in self.secret_headers else self.text(v, None)) for k, v in headers.items()}


def url_without_password(url: str) -> str:
    return Redactor().text(url, None)
