"""inventory.products, inventory.warehouses and inventory.stock_levels: the ERP item master and stock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_mock.generate.frame import (
    Block, Blocks, blocked, blocks_of, build_table, cents_to_money, concat, join_strings, occurrence_rank,
)
from crm_mock.generate.ids import derive_uuids, uuids_at
from crm_mock.generate.memo import memoised
from crm_mock.generate.catalogue import KINDS, UNIT_WORDS
from crm_mock.generate.planting import plant_cells
from crm_mock.generate.pools import CountryPools
from crm_mock.generate.random import Stream
from crm_mock.model import vocabularies as v
from crm_mock.scenario import TierPlan

PRODUCTS = "inventory.products"
WAREHOUSES = "inventory.warehouses"
STOCK_LEVELS = "inventory.stock_levels"
PRODUCT_ENTITY = "product"
WAREHOUSE_ENTITY = "warehouse"
TYPE = {name: i for i, name in enumerate(v.PRODUCT_TYPE)}
SKU_PREFIX = {"FINISHED_GOOD": "FG", "RAW_MATERIAL": "RM", "SERVICE": "SV"}
MAX_PRICE_CENTS = 250_000_000  # 2.5 M, well inside NUMERIC(12,2)
WAREHOUSE_COUNTRIES = ("US", "DE", "GB", "JP", "BR", "IN", "AU", "CA", "FR", "MX", "NL", "PL", "ES", "IT", "SE")
STOCK_WAREHOUSES = (3, 5)  # every stocked product sits in 3 to 5 warehouses


@dataclass(frozen=True)
class ProductPlan:
    """Per-product facts that stock and the transactions depend on."""

    product_type: np.ndarray  # index into v.PRODUCT_TYPE
    kind: np.ndarray  # index into catalogue.KINDS
    discontinued: np.ndarray  # bool
    zero_stock: np.ndarray  # bool: stocked, and 0 on hand in every warehouse that stocks it
    unit_cost_cents: np.ndarray
    list_price_cents: np.ndarray

    @property
    def stocked(self) -> np.ndarray:
        return self.product_type != TYPE["SERVICE"]


def product_uuids(plan: TierPlan, indices) -> pa.StringArray:
    return uuids_at(plan.ids, PRODUCT_ENTITY, indices)


def warehouse_uuids(plan: TierPlan, indices) -> pa.StringArray:
    return uuids_at(plan.ids, WAREHOUSE_ENTITY, indices)


def product_plan(plan: TierPlan) -> ProductPlan:
    n = plan.products
    assign = Stream(plan.seed, PRODUCTS, "assign")
    kinds = np.repeat(np.arange(len(v.PRODUCT_TYPE)), [plan.product_type_counts[t] for t in v.PRODUCT_TYPE])
    product_type = kinds[assign.permutation(n)]

    # the two unavailable kinds are disjoint, so "discontinued or zero-stock" counts exactly
    stocked = np.flatnonzero(product_type != TYPE["SERVICE"])
    zero = stocked[assign.permutation(len(stocked))[:plan.zero_stock_products]]
    zero_stock = np.zeros(n, dtype=bool)
    zero_stock[zero] = True
    candidates = np.flatnonzero(~zero_stock)
    discontinued = np.zeros(n, dtype=bool)
    discontinued[candidates[assign.permutation(len(candidates))[:plan.discontinued_products]]] = True

    # each product is a kind of its type's taxonomy, priced inside the kind's cost and markup bands
    kind = np.empty(n, dtype=np.int64)
    cost = np.empty(n, dtype=np.int64)
    markup = np.empty(n, dtype=np.float64)
    low = np.log(np.array([k.cost[0] * 100 for k in KINDS]))
    high = np.log(np.array([k.cost[1] * 100 for k in KINDS]))
    for block in blocks_of(n, plan.block_rows):
        rng = Stream(plan.seed, PRODUCTS, "plan", block=block.index)
        rows = slice(block.start, block.stop)
        types = product_type[rows]
        u_kind = rng.uniform(block.size)
        for t, type_name in enumerate(v.PRODUCT_TYPE):
            of_type = np.flatnonzero([k.product_type == type_name for k in KINDS])
            weights = np.cumsum([KINDS[i].weight for i in of_type])
            chosen = np.searchsorted(weights / weights[-1], u_kind[types == t], side="right")
            kind[rows][types == t] = of_type[np.minimum(chosen, len(of_type) - 1)]
        k = kind[rows]
        cost[rows] = np.clip(np.round(np.exp(low[k] + rng.uniform(block.size) * (high[k] - low[k]))), 5,
                             MAX_PRICE_CENTS // 3)
        lo = np.array([KINDS[i].markup[0] for i in k])
        hi = np.array([KINDS[i].markup[1] for i in k])
        markup[rows] = lo + rng.uniform(block.size) * (hi - lo)
    # prices end in .99 above 10.00, like a real price list
    price = np.round(cost * markup).astype(np.int64)
    price = np.where(price >= 1_000, (price // 100) * 100 + 99, price)
    return ProductPlan(product_type, kind, discontinued, zero_stock, cost, np.minimum(price, MAX_PRICE_CENTS))


def skus(product_type: np.ndarray, start: int) -> pa.StringArray:
    """The SKUs of products start, start + 1, … of the given types."""
    return skus_at(product_type, np.arange(start, start + len(product_type)))


def skus_at(product_type: np.ndarray, index: np.ndarray) -> pa.StringArray:
    """The SKUs of the products at ``index`` (their types given): the type's prefix and the product's number,
    at least 7 digits."""
    prefix = pa.array([SKU_PREFIX[t] for t in v.PRODUCT_TYPE], pa.string()).take(np.asarray(product_type))
    number = pc.utf8_lpad(pa.array(np.asarray(index, dtype=np.int64) + 1).cast(pa.string()), 7, "0")
    return join_strings(prefix, "-", number)


def product_names(plan: TierPlan) -> pa.ChunkedArray:
    """Every product's name, a chunk per block, apart from the product plan: only the products table shows
    them, and every transaction step reads the plan. Arrow strings, not Python ones: at the stress tier the
    1 M names are 54 MB mapped from the plan's file instead of 1 M objects rebuilt in every reader (and built
    as objects, they took 670 MiB)."""
    def build(p: TierPlan) -> pa.ChunkedArray:
        products = cached_product_plan(p)
        return _names(p, products.kind, products.product_type)
    return memoised("product_names", plan, build)


def _names(plan: TierPlan, kind: np.ndarray, product_type: np.ndarray) -> pa.ChunkedArray:
    """Brand, the kind's words and a variant ("Kestrel Cordless Drill 18 V"); a name the catalogue
    already has gets its SKU, as catalogues tell look-alike items apart."""
    blocks = blocks_of(len(kind), plan.block_rows)
    drawn = []
    for block in blocks:
        rng = Stream(plan.seed, PRODUCTS, "rows", block=block.index)
        kinds = [KINDS[i] for i in kind[block.start:block.stop]]
        u_brand, u_prefix, u_variant = rng.uniform(block.size), rng.uniform(block.size), rng.uniform(block.size)
        drawn.append(pa.array([
            " ".join(w for w in (k.brands[int(b * len(k.brands))], k.prefixes[int(p * len(k.prefixes))], k.noun) if w)
            + k.variants[int(x * len(k.variants))] for k, b, p, x in zip(kinds, u_brand, u_prefix, u_variant)],
            pa.string()))
    repeated = occurrence_rank(pa.chunked_array(drawn, pa.string())) > 0
    names = []
    for block, name in zip(blocks, drawn):
        repeat = np.flatnonzero(repeated[block.start:block.stop])
        suffixed = join_strings(name.take(repeat), " (", skus_at(product_type[block.start + repeat],
                                                                 block.start + repeat), ")")
        names.append(pc.replace_with_mask(name, pa.array(repeated[block.start:block.stop]), suffixed))
    return pa.chunked_array(names, pa.string())


def cached_product_plan(plan: TierPlan) -> ProductPlan:
    return memoised("products", plan, product_plan)


def _product_block(plan: TierPlan, products: ProductPlan, names: np.ndarray, block: Block) -> pa.Table:
    rows = slice(block.start, block.stop)
    kinds = [KINDS[i] for i in products.kind[rows]]
    name = names.slice(block.start, block.size)
    type_names = np.array(v.PRODUCT_TYPE, dtype=object)[products.product_type[rows]]
    sku = skus(products.product_type[rows], block.start)
    unit = np.array([k.unit for k in kinds], dtype=object)
    description = join_strings(pa.array([k.blurb for k in kinds], pa.string()), " Sold per ",
                               pa.array([UNIT_WORDS[k.unit] for k in kinds], pa.string()), ". Item code ", sku, ".")
    return build_table(PRODUCTS, {
        "product_uuid": derive_uuids(plan.ids, PRODUCT_ENTITY, block.start, block.stop),
        "sku": sku,
        "name": name,
        "product_type": type_names,
        "category": np.array([k.category for k in kinds], dtype=object),
        "description": description,
        "status": np.where(products.discontinued[rows], "DISCONTINUED", "ACTIVE").astype(object),
        "unit_of_measure": unit,
        "unit_cost": cents_to_money(products.unit_cost_cents[rows]),
        "list_price": cents_to_money(products.list_price_cents[rows]),
    })


@blocked
def generate_products(plan: TierPlan) -> Blocks:
    products, names = cached_product_plan(plan), product_names(plan)
    return Blocks(lambda b: plant_cells(plan, PRODUCTS, b.start, _product_block(plan, products, names, b)),
                    plan.products, plan.block_rows)


def warehouse_countries(plan: TierPlan) -> np.ndarray:
    return np.arange(plan.warehouses) % len(WAREHOUSE_COUNTRIES)


def _warehouse_block(plan: TierPlan, block: Block) -> pa.Table:
    rng = Stream(plan.seed, WAREHOUSES, "rows", block=block.index)
    index = np.arange(block.start, block.stop)
    pools = CountryPools(plan.seed, WAREHOUSE_COUNTRIES)
    country = warehouse_countries(plan)[block.start:block.stop]
    city = pools.pick("cities", country, rng.uniform(block.size))
    sequence = (index // len(WAREHOUSE_COUNTRIES) + 1).astype(str)
    codes = np.array(WAREHOUSE_COUNTRIES, dtype=object)[country]
    return build_table(WAREHOUSES, {
        "warehouse_uuid": derive_uuids(plan.ids, WAREHOUSE_ENTITY, block.start, block.stop),
        "code": concat("WH-", codes, "-", np.char.zfill(sequence, 3).astype(object)),
        "name": concat(city, " Distribution Centre"),
        "city": city,
        "country_code": codes,
    })


@blocked
def generate_warehouses(plan: TierPlan) -> Blocks:
    return Blocks(lambda b: _warehouse_block(plan, b), plan.warehouses, plan.block_rows)


def stock_placements(plan: TierPlan, products: ProductPlan, block: Block) -> tuple[np.ndarray, np.ndarray]:
    """(product index, warehouse index) of every stock row for the products of one block.

    Each stocked product gets 3 to 5 distinct warehouses, listed in warehouse order.
    """
    rng = Stream(plan.seed, STOCK_LEVELS, "placement", block=block.index)
    product = np.arange(block.start, block.stop)[products.stocked[block.start:block.stop]]
    m, most = len(product), STOCK_WAREHOUSES[1]
    how_many = rng.integers(STOCK_WAREHOUSES[0], most + 1, m)
    # five distinct warehouses per product: sorted draws from [0, W-5] plus 0..4 never repeat
    draws = np.sort(rng.integers(0, plan.warehouses - most + 1, m * most).reshape(m, most), axis=1)
    distinct = draws + np.arange(most)
    rank = np.argsort(np.argsort(rng.uniform(m * most).reshape(m, most), axis=1), axis=1)
    keep = rank < how_many[:, None]
    return np.repeat(product, keep.sum(axis=1)), distinct[keep]


@dataclass(frozen=True)
class StockPlan:
    """Every stock row (product, warehouse, quantities), product by product."""

    product: np.ndarray
    warehouse: np.ndarray
    on_hand: np.ndarray
    reserved: np.ndarray
    reorder_point: np.ndarray
    product_offsets: np.ndarray  # first stock row of each product block's products, per block


def _stock_rows(plan: TierPlan, products: ProductPlan, block: Block) -> tuple[np.ndarray, ...]:
    product, warehouse = stock_placements(plan, products, block)
    rng = Stream(plan.seed, STOCK_LEVELS, "rows", block=block.index)
    n = len(product)
    on_hand = np.floor(rng.lognormal(120.0, 1.1, n)).astype(np.int64)
    on_hand[rng.bernoulli(0.08, n)] = 0
    first_of_product = np.r_[True, product[1:] != product[:-1]] if n else np.zeros(0, dtype=bool)
    on_hand[first_of_product] = np.maximum(on_hand[first_of_product], 1)  # only quota products are zero-stock
    on_hand[products.zero_stock[product]] = 0
    reserved = np.floor(rng.uniform(n) * 0.3 * on_hand).astype(np.int64)
    return product, warehouse, on_hand, reserved, rng.integers(5, 80, n)


def stock_plan(plan: TierPlan) -> StockPlan:
    products = cached_product_plan(plan)
    parts = [_stock_rows(plan, products, b) for b in blocks_of(plan.products, plan.block_rows)]
    offsets = np.concatenate([[0], np.cumsum([len(p[0]) for p in parts])])
    return StockPlan(*(np.concatenate(column) for column in zip(*parts)), product_offsets=offsets)


def cached_stock_plan(plan: TierPlan) -> StockPlan:
    return memoised("stock", plan, stock_plan)


def _stock_block(plan: TierPlan, stock: StockPlan, block: Block) -> pa.Table:
    rows = slice(stock.product_offsets[block.index], stock.product_offsets[block.index + 1])
    return build_table(STOCK_LEVELS, {
        "product_uuid": product_uuids(plan, stock.product[rows]),
        "warehouse_uuid": warehouse_uuids(plan, stock.warehouse[rows]),
        "quantity_on_hand": stock.on_hand[rows],
        "quantity_reserved": stock.reserved[rows],
        "reorder_point": stock.reorder_point[rows],
    })


@blocked
def generate_stock_levels(plan: TierPlan) -> Blocks:
    """Blocks here are blocks of products; each block yields the stock rows of its products."""
    stock = cached_stock_plan(plan)
    return Blocks(lambda b: _stock_block(plan, stock, b), plan.products, plan.block_rows,
                    unit="products")
