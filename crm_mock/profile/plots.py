"""The profile as pictures: PNG bar and box charts (matplotlib, no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

from crm_mock.profile.distributions import Profile  # noqa: E402

SIZE = (7.5, 3.2)
COLOR = "#4f43dd"


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})  # same data, same bytes
    plt.close(figure)
    return buffer.getvalue()


def orders_per_month(profile: Profile, tier: str) -> bytes:
    figure, axes = plt.subplots(figsize=SIZE)
    months = list(profile.orders_per_month)
    axes.bar(range(len(months)), list(profile.orders_per_month.values()), color=COLOR)
    step = max(1, len(months) // 12)
    axes.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right", fontsize=8)
    axes.set_title(f"Orders per month ({tier})")
    axes.set_ylabel("orders")
    return _png(figure)


def order_value_by_segment(profile: Profile, tier: str) -> bytes:
    figure, axes = plt.subplots(figsize=SIZE)
    segments = [s for s, values in profile.order_values_by_segment.items() if len(values)]
    axes.boxplot([profile.order_values_by_segment[s] for s in segments], tick_labels=segments, orientation="horizontal",
                 showfliers=False)
    axes.set_xscale("log")
    axes.set_title(f"Order value by segment ({tier}, log scale)")
    axes.set_xlabel("order total, document currency (whiskers: 1.5 IQR)")
    return _png(figure)


def accounts_by_country(profile: Profile, tier: str) -> bytes:
    figure, axes = plt.subplots(figsize=SIZE)
    countries = list(profile.accounts_by_country)
    axes.bar(countries, list(profile.accounts_by_country.values()), color=COLOR)
    axes.tick_params(axis="x", labelsize=8)
    axes.set_title(f"Accounts by country ({tier})")
    axes.set_ylabel("accounts")
    return _png(figure)


def invoice_ageing(profile: Profile, tier: str) -> bytes:
    figure, axes = plt.subplots(figsize=SIZE)
    axes.bar(list(profile.invoice_ageing), list(profile.invoice_ageing.values()), color=COLOR)
    axes.set_title(f"Open invoices by days past due ({tier})")
    axes.set_xlabel("at the scenario's reference date")
    axes.set_ylabel("invoices")
    return _png(figure)


CHARTS = {
    "orders_per_month": orders_per_month,
    "order_value_by_segment": order_value_by_segment,
    "accounts_by_country": accounts_by_country,
    "invoice_ageing": invoice_ageing,
}
