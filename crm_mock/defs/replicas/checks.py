"""Replica checks are blocking: nothing downstream builds on a replica that drifted from its master."""

from crm_mock.consistency.table_rules import replica_matches_master
from crm_mock.defs.checks import CheckInputs, RuleCheck, rule_check
from crm_mock.model import Table


def replica_check(replica: Table) -> RuleCheck:
    master = replica.replica_of.master
    columns = [replica.primary_key[0], *replica.replica_of.columns]

    def rule(inputs: CheckInputs):
        return replica_matches_master(replica, inputs.read(replica.qualified_name),
                                      inputs.read(master, columns))

    return rule_check(replica, "replica_matches_master", rule,
                      f"Every {master} row has its replica here, none extra, copied fields equal.",
                      reads=[master], blocking=True)

