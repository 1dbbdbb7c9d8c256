"""Cross-service rules, shared by asset checks, sensors and `crm-mock check`."""

from crm_mock.consistency.results import RuleResult

__all__ = ["RuleResult"]
