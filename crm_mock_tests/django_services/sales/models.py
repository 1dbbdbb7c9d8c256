"""The Sales service: leads, opportunities, quotes, with its replicas of accounts, products and employees."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import (
    AccountStatus,
    Department,
    EmployeeStatus,
    LeadSource,
    LeadStatus,
    ProductStatus,
    ProductType,
    QuoteStatus,
    Segment,
    Stage,
)


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=120)
    segment = models.CharField(max_length=20, choices=Segment.choices)
    status = models.CharField(max_length=20, choices=AccountStatus.choices)
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3)


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    sku = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    product_type = models.CharField(max_length=20, choices=ProductType.choices)
    status = models.CharField(max_length=20, choices=ProductStatus.choices)
    list_price = models.DecimalField(max_digits=12, decimal_places=2)


class Employee(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)
    email = models.EmailField(max_length=120)
    department = models.CharField(max_length=20, choices=Department.choices)
    status = models.CharField(max_length=20, choices=EmployeeStatus.choices)


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    company_name = models.CharField(max_length=120)
    contact_name = models.CharField(max_length=120)
    email = models.EmailField(max_length=254)
    source = models.CharField(max_length=20, choices=LeadSource.choices)
    status = models.CharField(max_length=20, choices=LeadStatus.choices)
    owner = models.ForeignKey(Employee, models.PROTECT, related_name="leads")
    account = models.ForeignKey(Account, models.SET_NULL, null=True, related_name="leads")
    created = models.DateTimeField()


class Opportunity(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    account = models.ForeignKey(Account, models.PROTECT, related_name="opportunities")
    owner = models.ForeignKey(Employee, models.PROTECT, related_name="opportunities")
    lead = models.ForeignKey(Lead, models.SET_NULL, null=True, related_name="opportunities")
    name = models.CharField(max_length=160)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    probability = models.PositiveSmallIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    close_date = models.DateField(null=True)
    created = models.DateTimeField()


class Quote(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    number = models.CharField(max_length=20, unique=True)
    opportunity = models.ForeignKey(Opportunity, models.CASCADE, related_name="quotes")
    account = models.ForeignKey(Account, models.PROTECT, related_name="quotes")
    status = models.CharField(max_length=20, choices=QuoteStatus.choices)
    currency = models.CharField(max_length=3)
    valid_until = models.DateField()
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    created = models.DateTimeField()


class QuoteLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    quote = models.ForeignKey(Quote, models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, models.PROTECT, related_name="quote_lines")
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = models.PositiveSmallIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
