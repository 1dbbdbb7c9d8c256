"""Business realism (issue 13): what a skeptical tester checks, one rule per test, on the staging tier
(and on the load tier's plan where a rule is about scale)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from anyascii import anyascii

from crm_mock.edge_cases.catalog import load_catalog
from crm_mock.generate import GENERATORS
from crm_mock.generate.catalogue import KINDS
from crm_mock.generate.companies import INDUSTRY_WORDS, LANGUAGE, LEGAL_FORMS, slug
from crm_mock.generate.contact import cached_account_plan, contact_accounts_of, contact_names
from crm_mock.generate.hr import cached_employee_plan
from crm_mock.generate.inventory import cached_product_plan
from crm_mock.generate.pools import HEAD_TITLES, MANAGER_TITLES, STAFF_TITLES, CountryPools
from crm_mock.model import vocabularies as v
from crm_mock.scenario import ScenarioError, TierPlan, load_scenario, parse_scenario, plan_tier

Tables = dict[str, pa.Table]
TODAY = dt.date(2026, 11, 30)
OPEN_TICKET = ("NEW", "OPEN", "PENDING")
POSTCODES = {
    "US": r"\d{5}", "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d", "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", "DE": r"\d{5}",
    "FR": r"\d{5}", "JP": r"\d{3}-\d{4}", "IN": r"\d{6}", "BR": r"\d{5}-\d{3}", "AU": r"\d{4}", "ES": r"\d{5}",
    "IT": r"\d{5}", "NL": r"\d{4} [A-Z]{2}", "MX": r"\d{5}", "PL": r"\d{2}-\d{3}", "SE": r"\d{3} \d{2}",
}
WITH_REGION = {"US", "CA", "AU", "IN", "BR", "MX", "JP", "IT", "ES"}


@pytest.fixture(scope="module")
def plan() -> TierPlan:
    return plan_tier(load_scenario(today=TODAY), "staging")


@pytest.fixture(scope="module")
def tables(plan: TierPlan) -> Tables:
    return {name: generate(plan) for name, generate in GENERATORS.items()}


@pytest.fixture(scope="module")
def load_plan() -> TierPlan:
    return plan_tier(load_scenario(today=TODAY), "load")


def frame(tables: Tables, name: str) -> pd.DataFrame:
    return tables[name].to_pandas(date_as_object=False)


def planted(column: str) -> set:
    return {c.text() for c in load_catalog() if c.column == column}


# ---------------------------------------------------------------- live dates


def test_today_resolves_when_the_scenario_is_loaded():
    assert load_scenario(today=TODAY).reference_date == TODAY
    assert load_scenario().reference_date == dt.datetime.now(dt.timezone.utc).date()
    data = {**load_scenario().model_dump(mode="json"), "reference_date": "today"}
    assert parse_scenario(data, today=dt.date(2027, 3, 1)).reference_date == dt.date(2027, 3, 1)
    fixed = {**data, "reference_date": "2026-06-30"}
    assert parse_scenario(fixed, today=TODAY).reference_date == dt.date(2026, 6, 30)


def test_a_bad_reference_date_is_refused_naming_the_field():
    data = {**load_scenario().model_dump(mode="json"), "reference_date": "tomorrow"}
    with pytest.raises(ScenarioError, match="reference_date"):
        parse_scenario(data)


def test_the_same_date_gives_the_same_bytes_and_another_date_other_bytes(plan: TierPlan, tables: Tables):
    again = plan_tier(load_scenario(today=TODAY), "staging")
    assert GENERATORS["support.tickets"](again).equals(tables["support.tickets"])
    later = plan_tier(load_scenario(today=TODAY + dt.timedelta(days=1)), "staging")
    assert not GENERATORS["support.tickets"](later).equals(tables["support.tickets"])


def test_the_staging_schedule_passes_its_tick_date(tmp_path):
    import dagster as dg

    from crm_mock.defs.resources import REFERENCE_DATE_TAG
    from crm_mock_tests.conftest import build_defs

    defs = build_defs(tmp_path)
    schedule = defs.resolve_schedule_def("staging_refresh_schedule")
    with dg.instance_for_test() as instance:
        tick = dt.datetime(2027, 2, 14, 3, tzinfo=dt.timezone.utc)
        request = schedule.evaluate_tick(dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def())).run_requests[0]
    assert request.tags[REFERENCE_DATE_TAG] == "2027-02-14"


def test_open_opportunities_close_in_the_future(plan: TierPlan, tables: Tables):
    o = frame(tables, "sales.opportunities")
    still_open = o[~o.stage.isin(["CLOSED_WON", "CLOSED_LOST"])]
    assert len(still_open) > 100
    assert (still_open.close_date > pd.Timestamp(plan.reference_date)).all()
    closed = o[o.stage.isin(["CLOSED_WON", "CLOSED_LOST"])]
    assert (closed.close_date <= pd.Timestamp(plan.reference_date)).all()


def test_probability_follows_the_stage(plan: TierPlan, tables: Tables):
    o = frame(tables, "sales.opportunities")
    assert (o.probability == o.stage.map(plan.commercial.stage_probability)).all()
    assert set(o.stage) == set(v.OPPORTUNITY_STAGE)


def test_unpaid_invoices_are_not_yet_due_and_overdue_ones_are(plan: TierPlan, tables: Tables):
    i = frame(tables, "finance.invoices")
    day = pd.Timestamp(plan.reference_date)
    assert len(i[i.status == "UNPAID"]) >= plan.shipped_unpaid_orders
    assert (i.due_date[i.status == "UNPAID"] >= day).all()
    assert (i.due_date[i.status == "OVERDUE"] < day).all()


def test_open_tickets_are_recent_and_within_or_just_past_their_sla(plan: TierPlan, tables: Tables):
    t = frame(tables, "support.tickets")
    moment = pd.Timestamp(plan.reference_moment)
    open_tickets = t[t.status.isin(OPEN_TICKET)]
    assert (open_tickets.created_at >= moment - pd.Timedelta(days=plan.support.max_open_days + 4)).all()
    waiting = t[t.status == "NEW"]
    target = waiting.sla_due_at - waiting.created_at
    assert (moment - waiting.sla_due_at <= 2 * target).all()  # unanswered for at most three SLA targets


def test_the_desk_has_a_realistic_backlog(tables: Tables):
    share = frame(tables, "support.tickets").status.value_counts(normalize=True)
    assert share.get("CLOSED", 0) < 0.95
    assert share.reindex(list(OPEN_TICKET)).fillna(0).sum() >= 0.02
    assert share.get("RESOLVED", 0) >= 0.01


# ---------------------------------------------------------------- org chart


def test_managers_were_hired_first_and_lead_their_own_department(tables: Tables):
    e = frame(tables, "hr.employees")
    lines = e.merge(e, left_on="manager_uuid", right_on="employee_uuid", suffixes=("", "_manager"))
    assert len(lines) == len(e) - 1
    assert (lines.hire_date_manager <= lines.hire_date).all()
    assert ((lines.department_manager == lines.department) | (lines.department_manager == "EXECUTIVE")).all()
    assert not (lines.status_manager == "TERMINATED").any()
    chief = e[e.manager_uuid.isna()]
    assert chief.job_title.tolist() == ["Chief Executive Officer"] and chief.hire_date.iloc[0] == e.hire_date.min()


def test_every_department_has_a_head_reporting_to_the_chief_executive(tables: Tables):
    e = frame(tables, "hr.employees")
    chief = e.employee_uuid[e.manager_uuid.isna()].iloc[0]
    for department in set(e.department) - {"EXECUTIVE"}:
        heads = e[(e.department == department) & e.job_title.isin(HEAD_TITLES[department])]
        assert len(heads) == 1 and heads.manager_uuid.iloc[0] == chief, department


def test_job_titles_follow_department(tables: Tables):
    e = frame(tables, "hr.employees").iloc[1:]
    for _, row in e.iterrows():
        allowed = HEAD_TITLES[row.department] + MANAGER_TITLES[row.department] + STAFF_TITLES[row.department]
        assert row.job_title in allowed or row.job_title in planted("job_title"), row.to_dict()


def test_employee_emails_carry_no_row_numbers_and_resolve_clashes_with_a_middle_initial(load_plan: TierPlan):
    people = cached_employee_plan(load_plan)
    emails = pd.Series(people.email)
    assert emails.is_unique and len(emails) == load_plan.employees
    local = emails.str.split("@").str[0]
    assert (~local.str.contains(r"\d")).mean() > 0.99
    assert local.str.fullmatch(r"[a-z0-9]+\.[a-z]\.[a-z0-9]+").any()  # jane.m.doe, for a second Jane Doe


def test_work_is_owned_only_by_active_employees_hired_by_then(tables: Tables):
    e = frame(tables, "hr.employees").set_index("employee_uuid")
    for name, column in (("contact.accounts", "owner_employee_uuid"), ("sales.leads", "owner_employee_uuid"),
                         ("sales.opportunities", "owner_employee_uuid"), ("support.tickets", "assignee_employee_uuid")):
        f = frame(tables, name)[[column, "created_at"]].dropna()
        hired = f[column].map(e.hire_date)
        assert (hired <= f.created_at.dt.normalize()).all(), name
        assert (f[column].map(e.status) == "ACTIVE").all(), name


# ---------------------------------------------------------------- catalogue


def test_products_come_from_the_taxonomy(tables: Tables):
    p = frame(tables, "inventory.products")
    p = p[~p.category.isin(planted("category")) & ~p.name.isin(planted("name"))]
    kinds = {(k.product_type, k.category, k.unit) for k in KINDS}
    assert set(zip(p.product_type, p.category, p.unit_of_measure)) <= kinds
    assert not ((p.product_type == "SERVICE") & ~p.unit_of_measure.isin(["HOUR", "MONTH", "EA"])).any()
    assert not ((p.product_type == "RAW_MATERIAL") & p.unit_of_measure.isin(["HOUR", "MONTH", "BOX"])).any()
    own_code = [(re.findall(r"\b[A-Z]{2}-\d{7}\b", name) or [sku]) == [sku] for name, sku in zip(p.name, p.sku)]
    assert all(own_code)
    described = p[~p.description.isin(planted("description")) & ~p.sku.isin(planted("sku"))]
    assert all(sku in text for sku, text in zip(described.sku, described.description))


def test_prices_follow_the_kind_and_high_and_low_values_remain(plan: TierPlan, tables: Tables):
    p = frame(tables, "inventory.products")
    kinds = [KINDS[k] for k in cached_product_plan(plan).kind]
    low = np.array([k.cost[0] for k in kinds]) - 0.01
    high = np.array([k.cost[1] for k in kinds]) + 0.01
    assert p.unit_cost.between(low, high).all()
    markup = p.list_price / p.unit_cost
    assert markup.between(np.array([k.markup[0] for k in kinds]) - 0.02, np.array([k.markup[1] for k in kinds]) + 0.5).all()
    assert p.list_price.max() > 10_000 and p.list_price.min() < 10


# ---------------------------------------------------------------- commercial fields


def test_each_document_is_in_its_accounts_currency(plan: TierPlan, tables: Tables):
    accounts = frame(tables, "contact.accounts").set_index("account_uuid")
    assert (accounts.currency_code == accounts.country_code.map(plan.commercial.currency_by_country)).all()
    for name in ("sales.quotes", "orders.sales_orders", "finance.invoices"):
        f = frame(tables, name)
        assert (f.currency_code == f.account_uuid.map(accounts.currency_code)).all(), name
    invoices = frame(tables, "finance.invoices").set_index("invoice_uuid")
    payments = frame(tables, "finance.payments")
    assert (payments.currency_code == payments.invoice_uuid.map(invoices.currency_code)).all()
    ledger = frame(tables, "finance.ledger_entries")
    assert (ledger.groupby("journal_uuid").currency_code.nunique() == 1).all()
    per_currency = ledger.groupby("currency_code")[["debit", "credit"]].sum()
    assert np.allclose(per_currency.debit, per_currency.credit)
    yen = invoices[invoices.currency_code == "JPY"]
    assert len(yen) and (yen.total_amount == yen.total_amount.round()).all()


def test_prices_are_converted_into_the_documents_currency(plan: TierPlan, tables: Tables):
    lines = frame(tables, "orders.order_lines").merge(frame(tables, "orders.sales_orders"), on="order_uuid")
    products = frame(tables, "inventory.products").set_index("product_uuid")
    lines = lines[lines.unit_price > 0]
    ratio = lines.unit_price / lines.product_uuid.map(products.list_price) / lines.currency_code.map(
        plan.commercial.exchange_rates)
    assert ratio.between(0.99, 1.01).mean() > 0.99


def test_line_totals_apply_the_discount(tables: Tables):
    for name, key in (("orders.order_lines", "order_uuid"), ("sales.quote_lines", "quote_uuid"),
                      ("finance.invoice_lines", "invoice_uuid")):
        f = frame(tables, name)
        assert f.discount_percent.between(0, 100).all() and (f.discount_percent > 0).any(), name
        exact = f.quantity * f.unit_price * (100 - f.discount_percent) / 100
        assert ((f.line_total - exact).abs() <= 0.5).all(), name


@pytest.mark.parametrize("name,number,moment", [
    ("sales.quotes", "quote_number", "created_at"), ("orders.sales_orders", "order_number", "order_date"),
    ("finance.invoices", "invoice_number", "issue_date"), ("support.tickets", "ticket_number", "created_at")])
def test_document_numbers_are_unique_and_increase_with_time(tables: Tables, name: str, number: str, moment: str):
    f = frame(tables, name).dropna(subset=[number]).sort_values(number)
    assert f[number].is_unique
    assert f[number].str.fullmatch(r"[A-Z]+-\d{4}-\d{7}").all()
    assert (f[moment].cummax() == f[moment]).all()
    assert (f[number].str[-12:-8].astype(int) == f[moment].dt.year).all()


def test_only_issued_invoices_are_numbered(tables: Tables):
    i = frame(tables, "finance.invoices")
    assert (i.invoice_number.notna() == i.status.isin(["UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE"])).all()


def test_regions_where_the_country_uses_them(tables: Tables):
    a = frame(tables, "contact.accounts")
    a = a[~a.region.isin(planted("region"))]
    assert a.region[a.country_code.isin(WITH_REGION)].notna().all()
    assert a.region[~a.country_code.isin(WITH_REGION)].isna().all()


def test_tickets_name_what_they_are_about(tables: Tables):
    t = frame(tables, "support.tickets")
    orders = frame(tables, "orders.sales_orders").set_index("order_uuid")
    invoices = frame(tables, "finance.invoices").set_index("invoice_uuid")
    assert t.subject.nunique() >= 100 and t.description.notna().all()
    about_order = t[t.order_uuid.notna()]
    assert (about_order.order_uuid.map(orders.account_uuid) == about_order.account_uuid).all()
    assert (about_order.order_uuid.map(orders.order_date) <= about_order.created_at).all()
    billing = t[t.category == "BILLING"]
    assert billing.invoice_uuid.notna().all()
    assert (billing.invoice_uuid.map(invoices.account_uuid) == billing.account_uuid).all()
    numbered = billing[~billing.subject.isin(planted("subject"))]
    assert all(str(invoices.invoice_number[i]) in s for i, s in zip(numbered.invoice_uuid, numbered.subject))
    assert t.product_uuid[t.category.isin(["PRODUCT_ISSUE", "RETURN"])].notna().all()
    assert t.order_uuid[t.category == "DELIVERY"].notna().all()


# ---------------------------------------------------------------- behaviour


def test_no_orders_after_an_account_stopped_buying(plan: TierPlan, tables: Tables):
    accounts = cached_account_plan(plan)
    orders = frame(tables, "orders.sales_orders")
    index = pd.Series(np.arange(plan.accounts), index=frame(tables, "contact.accounts").account_uuid)
    stop = pd.Series(accounts.inactive_since)[index[orders.account_uuid].to_numpy()].to_numpy()
    stopped = ~np.isnat(stop)
    assert stopped.sum() > 0
    golden = orders.account_uuid.to_numpy() == index.index[1]  # the golden held account's planted orders
    assert (orders.order_date.to_numpy()[stopped & ~golden] < stop[stopped & ~golden]).all()
    status = orders.account_uuid.map(frame(tables, "contact.accounts").set_index("account_uuid").status)
    recent = orders.order_date >= pd.Timestamp(plan.reference_date) - pd.Timedelta(days=30)
    assert not (recent & status.isin(["CLOSED", "SUSPENDED", "ON_HOLD"])).any()


def test_long_overdue_invoices_are_rare_and_only_on_credit_hold(tables: Tables, plan: TierPlan):
    i = frame(tables, "finance.invoices")
    issued = i.status.isin(["UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE"])
    late = i.status.isin(["UNPAID", "PARTIALLY_PAID", "OVERDUE"]) & (
        i.due_date < pd.Timestamp(plan.reference_date) - pd.Timedelta(days=180))
    assert late.sum() <= 0.02 * issued.sum()
    held = set(frame(tables, "finance.customer_accounts").query("credit_status == 'ON_HOLD'").account_uuid)
    assert set(i.account_uuid[late]) <= held


def test_collections_recover_or_write_off_to_bad_debt(tables: Tables):
    payments = frame(tables, "finance.payments")
    written_off = payments[payments.method == "WRITE_OFF"]
    assert len(written_off)
    ledger = frame(tables, "finance.ledger_entries")
    debits = ledger[ledger.payment_uuid.isin(written_off.payment_uuid) & (ledger.debit > 0)]
    assert set(debits.gl_account) == {"6900_BAD_DEBT"}
    cash = ledger[ledger.payment_uuid.isin(payments.payment_uuid[payments.method != "WRITE_OFF"]) & (ledger.debit > 0)]
    assert set(cash.gl_account) == {"1000_CASH"}


def test_payment_methods_fit_the_amount(plan: TierPlan, tables: Tables):
    p = frame(tables, "finance.payments")
    base = p.amount / p.currency_code.map(plan.commercial.exchange_rates)
    for method, limit in plan.payment_method_limits.items():
        assert (base[p.method == method] <= limit + 0.01).all(), method


def test_leads_convert_within_weeks(plan: TierPlan, tables: Tables):
    leads = frame(tables, "sales.leads")
    o = frame(tables, "sales.opportunities").dropna(subset=["lead_uuid"]).merge(leads, on="lead_uuid",
                                                                                suffixes=("", "_lead"))
    days = (o.created_at - o.created_at_lead).dt.total_seconds() / 86_400
    bounds = plan.commercial.lead_conversion_days
    assert len(o) and days.between(bounds.min, bounds.max + 1).all()
    assert o.account_uuid.value_counts().max() <= 12


def test_stock_is_received_over_time_and_replenished_when_low(tables: Tables):
    m = frame(tables, "inventory.stock_movements").sort_values(["product_uuid", "warehouse_uuid", "occurred_at"])
    receipts = m[m.movement_type == "RECEIPT"]
    assert receipts.occurred_at.nunique() > 0.9 * len(receipts)
    per_place = receipts.groupby(["product_uuid", "warehouse_uuid"]).size()
    assert (per_place > 1).mean() > 0.3  # replenished, not one opening receipt
    m = m.assign(balance=m.groupby(["product_uuid", "warehouse_uuid"]).quantity.cumsum())
    before = m.balance - m.quantity
    refills = m[(m.movement_type == "RECEIPT") & m.duplicated(["product_uuid", "warehouse_uuid"])]
    assert (before[refills.index] <= refills.quantity).mean() > 0.9  # a refill comes when stock is low


# ---------------------------------------------------------------- distinct values


def test_accounts_and_contacts_are_distinct_at_staging(tables: Tables):
    a = frame(tables, "contact.accounts")
    c = frame(tables, "contact.contacts")
    for f, columns in ((a, ("name", "website", "phone")), (c, ("email", "phone"))):
        for column in columns:
            values = f[column][~f[column].isin(planted(column))]
            assert values.is_unique, column


def test_account_names_domains_and_contact_emails_are_distinct_at_load(load_plan: TierPlan):
    """The load tier's 50,000 accounts and 200,000 contacts, from the plan alone (no table generated)."""
    accounts = cached_account_plan(load_plan)
    assert accounts.name.to_pandas().is_unique and accounts.domain.to_pandas().is_unique
    pools = CountryPools(load_plan.seed, accounts.countries)
    contacts = np.arange(load_plan.contacts)
    account = contact_accounts_of(accounts, contacts)
    first, last = contact_names(load_plan, accounts, pools, account, contacts)
    emails = pools.values("first_ascii")[first] + "." + pools.values("last_ascii")[last] + "@" + accounts.domains(account)
    assert pd.Series(emails).is_unique


# ---------------------------------------------------------------- text hygiene


def test_single_line_text_has_no_newlines_or_template_leaks(tables: Tables):
    allowed = {c.text() for c in load_catalog() if c.value and "\n" in c.value}
    for name in ("contact.accounts", "contact.contacts", "sales.leads", "inventory.products", "hr.employees",
                 "support.tickets", "sales.opportunities"):
        f = frame(tables, name)
        for column in f.columns:
            if f[column].dtype == object and column != "description":
                text = f[column].dropna().astype(str)
                assert not text[~text.isin(allowed)].str.contains("\n").any(), (name, column)
                assert not text.str.contains(r"\{\{|\}\}|\{[A-Z]\}|#{3,}").any(), (name, column)


def test_postcodes_are_in_the_countrys_format(tables: Tables):
    a = frame(tables, "contact.accounts")
    a = a[~a.postal_code.isin(planted("postal_code"))]
    for country, pattern in POSTCODES.items():
        codes = a.postal_code[a.country_code == country]
        assert codes.str.fullmatch(pattern).all(), (country, codes[~codes.str.fullmatch(pattern)].tolist()[:3])


def test_email_local_parts_are_transliterated():
    pools = CountryPools(load_scenario().seed, ("PL", "DE", "SE", "ES"))
    names, spellings = pools.values("last_names"), pools.values("last_ascii")
    for name, spelling in zip(names, spellings):
        assert spelling == re.sub(r"[^a-z0-9]", "", anyascii(name).lower())
    assert any("ł" in n for n in names)


def test_domains_carry_no_legal_form(tables: Tables):
    a = frame(tables, "contact.accounts")
    a = a[a.name != "Acme Corp"]  # the golden acme-corp.example is fixed
    host = a.website.str.replace(r"^https://www\.", "", regex=True)
    forms = {slug(form) for forms in LEGAL_FORMS.values() for form in forms} - {""}
    label = host.str.split(".").str[0]
    assert not label.apply(lambda text: any(text.endswith("-" + f) or text == f for f in forms)).any()


def test_the_industry_is_the_one_the_name_says(tables: Tables):
    a = frame(tables, "contact.accounts")
    checked = 0
    for name, country, industry in zip(a.name, a.country_code, a.industry):
        said = [v.INDUSTRY[i] for i, words in enumerate(INDUSTRY_WORDS[LANGUAGE[country]])
                if any(re.search(rf"(^|[\s\-]){re.escape(w)}($|[\s\-])", name) or
                       (LANGUAGE[country] == "ja" and w in name) for w in words)]
        if said:
            checked += 1
            assert industry in said, (name, industry)
    assert checked > 100


def test_scenario_rules_are_validated_naming_the_field():
    base = load_scenario().model_dump(mode="json")
    bad = [
        ({"commercial": {**base["commercial"], "currency_by_country": {**base["commercial"]["currency_by_country"],
                                                                      "US": "XXX"}}}, "commercial"),
        ({"commercial": {**base["commercial"], "exchange_rates": {"USD": 1.0}}}, "commercial.exchange_rates"),
        ({"transactions": {**base["transactions"], "collections": {"after_days_past_due": 90,
                                                                   "write_off_after_days_past_due": 30}}},
         "collections"),
        ({"realism": {**base["realism"], "employee_history_years": 3}}, "employee_history_years"),
        ({"transactions": {**base["transactions"], "payment_method_limits": {"WRITE_OFF": 5}}}, "payment_method_limits"),
        ({"commercial": {**base["commercial"], "lead_conversion_days": {"min": 30, "max": 3}}}, "lead_conversion_days"),
    ]
    for change, field in bad:
        with pytest.raises(ScenarioError, match=field):
            parse_scenario({**base, **change})


def test_tunable_rules_change_the_data(plan: TierPlan):
    card = dataclasses.replace(plan, payment_method_limits={"CARD": 50.0, "CHECK": 50_000.0, "DIRECT_DEBIT": 100_000.0})
    payments = GENERATORS["finance.payments"](card).to_pandas()
    base = payments.amount / payments.currency_code.map(plan.commercial.exchange_rates)
    assert (base[payments.method == "CARD"] <= 50).all()


def test_planted_cases_keep_their_neighbours_consistent(plan: TierPlan, tables: Tables):
    from crm_mock.generate.planting import planted_cells
    from crm_mock.generate.pools import ascii_slug

    cells = planted_cells(plan)
    cases = {c.id: c for c in load_catalog()}
    accounts, contacts = frame(tables, "contact.accounts"), frame(tables, "contact.contacts")
    country = contacts.account_uuid.map(accounts.set_index("account_uuid").country_code)
    for table, f, countries in (("contact.accounts", accounts, accounts.country_code), ("contact.contacts", contacts,
                                                                                        country)):
        for column, rows in cells[table].items():
            for row, (case_id, _) in rows.items():
                if cases[case_id].countries:  # a French city in a French address, an Indian name in India
                    assert countries[row] in cases[case_id].countries, case_id
                if table == "contact.contacts" and column in ("first_name", "last_name") and ascii_slug(f.loc[row, column]):
                    assert ascii_slug(f.loc[row, column])[:30] in f.loc[row, "email"], case_id
                if table == "contact.accounts" and column == "name" and case_id != "acme_corp":
                    assert slug(f.loc[row, "name"])[:20] in f.loc[row, "website"], case_id


def test_amounts_of_hundreds_of_millions_are_on_the_cent_grid(tables: Tables, plan, tmp_path):
    """Yen and rupee amounts at the load tier reach hundreds of millions, where x × 100 in float64 lands a
    few ulps off the integer: still a valid amount; a real fraction of a cent is still caught."""
    from crm_mock.consistency.registry import rules_on
    from crm_mock.consistency.sources import StoreSource
    from crm_mock.sinks.parquet import TableStore

    conforms, = [r for r in rules_on("finance.payments") if r.name == "conforms_to_model"]
    payments = tables["finance.payments"]
    index = payments.schema.get_field_index("amount")
    for i, (value, ok) in enumerate(((270_578_898.13, True), (485_572_879.07, True), (270_578_898.135, False))):
        store = TableStore(tmp_path / str(i))
        store.write(plan.tier, ("finance", "payments"),
                    payments.set_column(index, "amount", pa.array([value] * payments.num_rows, pa.float64())))
        with StoreSource(store, plan.tier) as source:
            assert conforms.run(source, plan).passed is ok, value
