"""The Orders service: sales orders and their lines, with replicas of accounts and products."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import AccountStatus, OrderStatus, ProductStatus, ProductType, Segment


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=120)
    segment = models.CharField(max_length=20, choices=Segment.choices)
    status = models.CharField(max_length=20, choices=AccountStatus.choices)
    currency = models.CharField(max_length=3)


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    sku = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    product_type = models.CharField(max_length=20, choices=ProductType.choices)
    status = models.CharField(max_length=20, choices=ProductStatus.choices)
    list_price = models.DecimalField(max_digits=12, decimal_places=2)


class SalesOrder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    number = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(Account, models.PROTECT, related_name="orders")
    quote_uuid = models.UUIDField(null=True)  # a Sales record: resolves in the Sales service
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    currency = models.CharField(max_length=3)
    order_date = models.DateField()
    shipped = models.DateTimeField(null=True)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)


class OrderLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    order = models.ForeignKey(SalesOrder, models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, models.PROTECT, related_name="order_lines")
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = models.PositiveSmallIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
