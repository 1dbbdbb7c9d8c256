"""Part A on stock: where products are stocked, the zero-stock quota, and stock that never goes negative
(levels, and the running balance of the movements that make them up)."""

from __future__ import annotations

from crm_mock.consistency.engine import Findings, RuleContext
from crm_mock.consistency.rule import rule
from crm_mock.consistency.rules.common import count_where
from crm_mock.generate.inventory import STOCK_WAREHOUSES
from crm_mock.sinks.values import canonical_uuid

# per product: its type and status, how many warehouses stock it and what they hold in all
PER_PRODUCT = ("(SELECT p.product_uuid, p.product_type, p.status, COUNT(s.product_uuid) AS warehouses, "
               "COALESCE(SUM(s.quantity_on_hand), 0) AS on_hand FROM products p "
               "LEFT JOIN stock_levels s ON s.product_uuid = p.product_uuid "
               "GROUP BY p.product_uuid, p.product_type, p.status) per_product")
# Part A: a stocked (non-SERVICE) product with nothing on hand in any warehouse that stocks it
IS_ZERO_STOCK = "(product_type <> 'SERVICE' AND on_hand = 0)"
ZERO_STOCK_PRODUCTS = f"SELECT product_uuid FROM {PER_PRODUCT} WHERE {IS_ZERO_STOCK} ORDER BY product_uuid"


def place(row: tuple) -> str:
    """A stock place, "product|warehouse", as the primary key of stock_levels is reported."""
    return f"{canonical_uuid(row[0])}|{canonical_uuid(row[1])}"


@rule("stock", "inventory.stock_levels",
      "Stocked products in 3–5 warehouses, services in none, the zero-stock and unavailable quotas, no "
      "negative stock or reservations beyond it.", reads=("inventory.products",))
def stock_rules(ctx: RuleContext, found: Findings) -> None:
    plan = ctx.plan
    low, high = STOCK_WAREHOUSES
    found.kind("warehouses_per_product")
    found.kind("services_unstocked")
    wrong_places = (f"SELECT product_uuid, product_type FROM {PER_PRODUCT} WHERE (product_type = 'SERVICE' AND "
                    f"warehouses > 0) OR (product_type <> 'SERVICE' AND (warehouses < {low} OR warehouses > {high})) "
                    "ORDER BY product_uuid")
    for product, product_type in ctx.rows("inventory", wrong_places):
        found.add("services_unstocked" if product_type == "SERVICE" else "warehouses_per_product",
                  canonical_uuid(product))
    unavailable = count_where(f"status = 'DISCONTINUED' OR {IS_ZERO_STOCK}")
    zero, unavailable = next(ctx.rows("inventory", f"SELECT {count_where(IS_ZERO_STOCK)}, {unavailable} "
                                                   f"FROM {PER_PRODUCT}"))
    found.count("zero_stock_products", zero, plan.zero_stock_products)
    found.count("discontinued_or_zero_stock", unavailable, plan.discontinued_products + plan.zero_stock_products)
    tally = found.kind("never_negative")
    for row in ctx.rows("inventory", "SELECT product_uuid, warehouse_uuid FROM stock_levels WHERE quantity_on_hand < 0 "
                                     "OR quantity_reserved < 0 OR quantity_reserved > quantity_on_hand "
                                     "ORDER BY product_uuid, warehouse_uuid"):
        tally.add(place(row))


# stock levels their movements do not add up to, and places with movements but no stock level: movements
# and levels grouped by place in one pass (a join of the grouped movements to the levels, both ways, grouped
# the 1.6 M movements of the load tier twice)
UNBALANCED_PLACES = (
    "SELECT product_uuid, warehouse_uuid FROM (SELECT product_uuid, warehouse_uuid, SUM(moved) AS moved, "
    "SUM(on_hand) AS on_hand, MAX(has_level) AS has_level FROM ("
    "SELECT product_uuid, warehouse_uuid, quantity AS moved, 0 AS on_hand, 0 AS has_level FROM stock_movements "
    "UNION ALL SELECT product_uuid, warehouse_uuid, 0, quantity_on_hand, 1 FROM stock_levels) places "
    "GROUP BY product_uuid, warehouse_uuid) totals WHERE has_level = 0 OR moved <> on_hand ORDER BY 1, 2")
# the balance of each place after each movement, in time order; at the same moment receipts count first
NEGATIVE_BALANCES = (
    "SELECT stock_movement_uuid FROM (SELECT stock_movement_uuid, SUM(quantity) OVER (PARTITION BY product_uuid, "
    "warehouse_uuid ORDER BY occurred_at, quantity DESC, stock_movement_uuid ROWS BETWEEN UNBOUNDED PRECEDING "
    "AND CURRENT ROW) AS balance FROM stock_movements) b WHERE balance < 0 ORDER BY stock_movement_uuid")


@rule("stock_never_negative", "inventory.stock_movements",
      "Movements sum to the stock on hand per product and warehouse; the running balance never goes below zero.",
      reads=("inventory.stock_levels",))
def stock_never_negative(ctx: RuleContext, found: Findings) -> None:
    tally = found.kind("movements_sum_to_on_hand")
    for row in ctx.rows("inventory", UNBALANCED_PLACES):
        tally.add(place(row))
    tally = found.kind("running_balance_never_negative")
    for key in ctx.keys("inventory", NEGATIVE_BALANCES):
        tally.add(key)


RULES = [stock_rules, stock_never_negative]
