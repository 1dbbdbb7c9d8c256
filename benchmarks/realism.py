"""What a skeptical tester would count in a built tier: the realism figures of issue 13, read from the
tier's Parquet table store.

    .venv/bin/python benchmarks/realism.py --data-dir data --tier staging [--reference-date 2026-06-30]

Columns a tier does not have (an older build) are reported as "n/a".
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from crm_mock.scenario import load_scenario

LEGAL_FORMS = re.compile(r"(?:^|[-.])(?:gmbh|co-kg|kg|ag|ltd|llc|inc|plc|sa|sas|sarl|spa|srl|bv|nv|ab|kk|s-a|sp-z-o-o|"
                         r"ltda|me|eireli|s-l|s-c|e-k|ohg|gbr|kgaa|pvt|limited|group|and-sons)(?:[-.]|$)")
OPEN_TICKETS = ("NEW", "OPEN", "PENDING")
ISSUED = ("UNPAID", "PARTIALLY_PAID", "PAID", "OVERDUE")


class Tier:
    def __init__(self, data_dir: Path, tier: str) -> None:
        self.root = data_dir / tier / "tables"

    def __call__(self, service: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        path = self.root / service / f"{table}.parquet"
        names = pq.read_schema(path).names
        return pq.read_table(path, columns=[c for c in (columns or names) if c in names]).to_pandas()


def _share(part: int, whole: int) -> str:
    return f"{part} / {whole} ({100 * part / whole:.1f} %)" if whole else "0 / 0"


def org_chart(t: Tier) -> dict:
    e = t("hr", "employees")
    m = e.merge(e, left_on="manager_uuid", right_on="employee_uuid", suffixes=("", "_m"))
    cross = (m.department != m.department_m) & (m.department_m != "EXECUTIVE")
    out = {
        "reporting lines": len(m),
        "manager hired after report": int((m.hire_date_m > m.hire_date).sum()),
        "cross-department (manager not an executive)": int(cross.sum()),
        "terminated manager of a non-terminated report": int(((m.status_m == "TERMINATED")
                                                              & (m.status != "TERMINATED")).sum()),
        "employee e-mails with a digit": int(e.email.str.contains(r"\d").sum()),
        "distinct employee e-mails": f"{e.email.nunique()} / {len(e)}",
    }
    hire = e.set_index("employee_uuid").hire_date
    for service, table, column in (("sales", "leads", "owner_employee_uuid"),
                                   ("sales", "opportunities", "owner_employee_uuid"),
                                   ("contact", "accounts", "owner_employee_uuid"),
                                   ("support", "tickets", "assignee_employee_uuid")):
        f = t(service, table, [column, "created_at"]).dropna()
        before = f.created_at.dt.normalize() < pd.to_datetime(f[column].map(hire))
        out[f"{table} owned before the owner's hire"] = int(before.sum())
    return out


def catalogue(t: Tier) -> dict:
    p = t("inventory", "products")
    codes = p.name.str.extract(r"\b([A-Z]{2}-\d{4,})\b")[0]
    by_type = p.groupby("product_type").unit_of_measure.agg(lambda s: ", ".join(sorted(s.unique())))
    return {
        "names with a code that is not the SKU": int((codes.notna() & (codes != p.sku)).sum()),
        "distinct names": f"{p.name.nunique()} / {len(p)}",
        "units by type": "; ".join(f"{k}: {v}" for k, v in by_type.items()),
        "with a category": int(p["category"].notna().sum()) if "category" in p else "n/a",
        "with a description": int(p["description"].notna().sum()) if "description" in p else "n/a",
        "list price min / median / max": f"{p.list_price.min():,.2f} / {p.list_price.median():,.2f} / "
                                         f"{p.list_price.max():,.2f}",
    }


def live_dates(t: Tier, reference: dt.date) -> dict:
    day = pd.Timestamp(reference)
    o = t("sales", "opportunities")
    open_o = o[~o.stage.isin(["CLOSED_WON", "CLOSED_LOST"])]
    i = t("finance", "invoices")
    tk = t("support", "tickets")
    open_t = tk[tk.status.isin(OPEN_TICKETS)]
    return {
        "open opportunities closing in the past": _share(int((pd.to_datetime(open_o.close_date) < day).sum()), len(open_o)),
        "UNPAID invoices past due": _share(int(((i.status == "UNPAID") & (pd.to_datetime(i.due_date) < day)).sum()),
                                           int((i.status == "UNPAID").sum())),
        "OVERDUE invoices not past due": int(((i.status == "OVERDUE") & ~(pd.to_datetime(i.due_date) < day)).sum()),
        "unanswered tickets more than 7 days past their SLA": _share(int(
            (open_t.first_response_at.isna() & (open_t.sla_due_at < day - pd.Timedelta(days=7))).sum()), len(open_t)),
        "open tickets older than 90 days": _share(int((open_t.created_at < day - pd.Timedelta(days=90)).sum()),
                                                  len(open_t)),
        "ticket statuses": ", ".join(f"{k} {100 * v:.1f} %" for k, v in tk.status.value_counts(normalize=True).items()),
    }


def repeats(t: Tier) -> dict:
    a = t("contact", "accounts")
    c = t("contact", "contacts")
    return {
        "distinct account names": f"{a.name.nunique()} / {len(a)}",
        "distinct websites": f"{a.website.nunique()} / {len(a)}",
        "distinct account phones": f"{a.phone.nunique()} / {len(a)}",
        "distinct contact e-mails": f"{c.email.nunique()} / {len(c)}",
        "distinct contact phones": f"{c.phone.nunique()} / {len(c)}",
        "account and contact phones shared": int(len(set(a.phone) & set(c.phone))),
    }


def funnel(t: Tier, reference: dt.date) -> dict:
    leads = t("sales", "leads")
    opps = t("sales", "opportunities")
    converted = leads[leads.status == "CONVERTED"]
    j = opps.dropna(subset=["lead_uuid"]).merge(leads, on="lead_uuid", suffixes=("", "_lead"))
    lag = (j.created_at - j.created_at_lead).dt.days
    open_leads = leads[leads.status != "CONVERTED"]
    domain = open_leads.email.str.split("@").str[1].fillna("")
    first_word = open_leads.company_name.str.lower().str.extract(r"([a-z]{3,})")[0].fillna("#")
    unrelated = ~pd.Series([w in d for w, d in zip(first_word, domain)], index=open_leads.index)
    out = {
        "unconverted leads whose e-mail domain does not name the company": _share(int(unrelated.sum()), len(open_leads)),
        "converted lead -> opportunity, mean / max days": f"{lag.mean():.0f} / {lag.max():.0f}" if len(lag) else "n/a",
        "most converted leads on one account": int(converted.account_uuid.value_counts().max()) if len(converted) else 0,
        "opportunity names repeated within an account": int(opps.duplicated(["account_uuid", "name"]).sum()),
        "smallest opportunity amount": f"{opps.amount.min():,.2f}",
        "opportunities with a probability": int(opps["probability"].notna().sum()) if "probability" in opps else "n/a",
    }
    accounts = t("contact", "accounts", ["account_uuid", "status"])
    orders = t("orders", "sales_orders").merge(accounts, on="account_uuid")
    recent = pd.to_datetime(orders.order_date) > pd.Timestamp(reference) - pd.Timedelta(days=30)
    stopped = orders[recent & orders.status_y.isin(["CLOSED", "SUSPENDED"])] if "status_y" in orders else orders[:0]
    out["orders of CLOSED/SUSPENDED accounts in the last 30 days"] = (
        f"{len(stopped)} (largest {stopped.total_amount.max():,.2f})" if len(stopped) else "0")
    inv = t("finance", "invoices")
    customers = t("finance", "customer_accounts", ["account_uuid", "credit_status"])
    day = pd.Timestamp(reference)
    open_inv = inv.status.isin(["UNPAID", "PARTIALLY_PAID", "OVERDUE"])
    very_late = open_inv & (pd.to_datetime(inv.due_date) < day - pd.Timedelta(days=180))
    late_accounts = set(inv.account_uuid[very_late])
    good = customers[customers.account_uuid.isin(late_accounts) & (customers.credit_status == "GOOD")]
    out["open invoices > 180 days past due / issued invoices"] = _share(int(very_late.sum()),
                                                                       int(inv.status.isin(ISSUED).sum()))
    out["accounts with such invoices still credit GOOD"] = len(good)
    pay = t("finance", "payments")
    rates = load_scenario().commercial.exchange_rates
    base = pay.amount / (pay.currency_code.map(rates) if "currency_code" in pay else 1.0)
    for method in ("CARD", "CHECK", "DIRECT_DEBIT", "BANK_TRANSFER", "WRITE_OFF"):
        amounts = base[pay.method == method]
        if len(amounts):
            out[f"largest {method} payment (base currency)"] = f"{amounts.max():,.2f}"
    return out


def tickets(t: Tier) -> dict:
    tk = t("support", "tickets")
    out = {"distinct subjects": int(tk.subject.nunique()),
           "with a description": int(tk["description"].notna().sum()) if "description" in tk else "n/a"}
    for column in ("order_uuid", "invoice_uuid", "product_uuid"):
        out[f"with {column}"] = int(tk[column].notna().sum()) if column in tk else "n/a"
    return out


def commercial(t: Tier) -> dict:
    present = {}
    for service, table, column in (("contact", "accounts", "currency_code"), ("contact", "accounts", "region"),
                                   ("sales", "quotes", "quote_number"), ("orders", "sales_orders", "order_number"),
                                   ("finance", "invoices", "invoice_number"), ("support", "tickets", "ticket_number"),
                                   ("orders", "order_lines", "discount_percent"),
                                   ("finance", "ledger_entries", "currency_code")):
        names = pq.read_schema(t.root / service / f"{table}.parquet").names
        present[f"{table}.{column}"] = "yes" if column in names else "no"
    return present


def tells(t: Tier) -> dict:
    moves = t("inventory", "stock_movements")
    receipts = moves[moves.movement_type == "RECEIPT"]
    q = t("sales", "quotes")
    a = t("contact", "accounts")
    c = t("contact", "contacts")
    late = 0
    for service, table in (("sales", "leads"), ("sales", "quotes"), ("orders", "sales_orders"), ("support", "tickets"),
                           ("finance", "payments"), ("inventory", "stock_movements")):
        f = t(service, table)
        for column in f.columns:
            if pd.api.types.is_datetime64_any_dtype(f[column]):
                late += int((f[column].dt.strftime("%H:%M:%S") == "23:59:59").sum())
    mx = a[a.country_code == "MX"]
    domains = a.website.str.replace(r"^https?://(www\.)?", "", regex=True)
    single_line = 0
    for service, table in (("contact", "accounts"), ("contact", "contacts"), ("sales", "leads"),
                           ("inventory", "products"), ("support", "tickets")):
        f = t(service, table)
        for column in f.columns:
            if pd.api.types.is_string_dtype(f[column]) and column != "description":
                single_line += int(f[column].astype(str).str.contains("\n").sum())
    return {
        "stock receipts / distinct receipt moments": f"{len(receipts)} / {receipts.occurred_at.nunique()}",
        "quotes valid exactly 30 days": _share(int(((pd.to_datetime(q.valid_until) - q.created_at.dt.normalize())
                                                    .dt.days == 30).sum()), len(q)),
        "moments at 23:59:59": late,
        "values with a newline in single-line columns": single_line,
        "MX postcodes in ZIP+4 form": int(mx.postal_code.str.contains(r"^\d{5}-\d{4}$").sum()),
        "MX phones without +52": int((~mx.phone.str.startswith("+52")).sum()),
        "website domains with a legal form": int(domains.str.contains(LEGAL_FORMS).sum()),
        "contacts with ł in the surname / e-mails keeping it as l": (
            f"{int(c.last_name.str.contains('ł').sum())} / "
            f"{int((c.last_name.str.contains('ł') & c.email.str.contains('l@|l[.]', regex=True)).sum())}"),
    }


def report(data_dir: Path, tier: str, reference: dt.date) -> dict[str, dict]:
    t = Tier(data_dir, tier)
    return {"org chart": org_chart(t), "catalogue": catalogue(t), "live dates": live_dates(t, reference),
            "repeats": repeats(t), "funnel and accounts": funnel(t, reference), "tickets": tickets(t),
            "commercial fields": commercial(t), "synthetic tells": tells(t)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", type=Path)
    parser.add_argument("--tier", default="staging")
    parser.add_argument("--reference-date", type=dt.date.fromisoformat, default=None,
                        help="the tier's reference date (default: the latest order date)")
    args = parser.parse_args()
    reference = args.reference_date
    if reference is None:
        orders = Tier(args.data_dir, args.tier)("orders", "sales_orders", ["order_date"])
        reference = pd.to_datetime(orders.order_date).max().date()
    for section, figures in report(args.data_dir, args.tier, reference).items():
        print(f"## {section}")
        for name, value in figures.items():
            print(f"- {name}: {value}")


if __name__ == "__main__":
    main()
