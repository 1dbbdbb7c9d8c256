"""The error every sink raises when a refresh would break something the service owns."""

from __future__ import annotations


class RefreshRefused(RuntimeError):
    """A refresh would break an object crm_mock does not own; nothing was changed. The message lists them."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{where}: refused before changing anything:\n" + "\n".join(f"  - {p}" for p in problems))
