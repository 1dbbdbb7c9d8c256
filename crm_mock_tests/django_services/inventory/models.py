"""The Inventory service: products, warehouses and stock. Stock levels have a surrogate integer key and a
unique (product, warehouse) pair, as Django models usually do."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import MovementType, ProductType, UnitOfMeasure


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=60)
    description = models.TextField()
    product_type = models.CharField(max_length=20, choices=ProductType.choices)
    active = models.BooleanField()  # status: ACTIVE or DISCONTINUED
    unit_of_measure = models.CharField(max_length=20, choices=UnitOfMeasure.choices)
    unit_cost_cents = models.BigIntegerField()
    list_price = models.DecimalField(max_digits=12, decimal_places=2)


class Warehouse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=80)
    city = models.CharField(max_length=80)
    country = models.CharField(max_length=2)


class StockLevel(models.Model):
    product = models.ForeignKey(Product, models.CASCADE, related_name="stock")
    warehouse = models.ForeignKey(Warehouse, models.CASCADE, related_name="stock")
    on_hand = models.IntegerField()
    reserved = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "warehouse"], name="stock_level_unique")]


class StockMovement(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    product = models.ForeignKey(Product, models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey(Warehouse, models.PROTECT, related_name="movements")
    movement_type = models.CharField(max_length=20, choices=MovementType.choices)
    quantity = models.IntegerField()
    order_uuid = models.UUIDField(null=True)  # an Orders record: resolves in the Orders service
    occurred = models.DateTimeField()
