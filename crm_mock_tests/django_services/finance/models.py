"""The Finance service: its customer accounts (with the credit hold it owns), invoices, payments and the
ledger. Payments keep integer cents; the ledger numbers its GL accounts."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import CreditStatus, GlAccount, InvoiceStatus, PaymentMethod, PaymentTerms


class CustomerAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3)
    credit_status = models.CharField(max_length=20, choices=CreditStatus.choices)
    on_hold = models.BooleanField()  # derived from credit_status
    credit_limit = models.DecimalField(max_digits=12, decimal_places=2)
    balance = models.DecimalField(max_digits=12, decimal_places=2)


class Invoice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    number = models.CharField(max_length=20, unique=True, null=True)  # drafts have none yet
    order_uuid = models.UUIDField(unique=True)  # an Orders record: resolves in the Orders service
    account = models.ForeignKey(CustomerAccount, models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices)
    payment_terms = models.CharField(max_length=20, choices=PaymentTerms.choices)
    currency = models.CharField(max_length=3)
    issue_date = models.DateField(null=True)
    due_date = models.DateField(null=True)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2)


class InvoiceLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    invoice = models.ForeignKey(Invoice, models.CASCADE, related_name="lines")
    product_uuid = models.UUIDField()  # an Inventory record
    quantity = models.IntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = models.PositiveSmallIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)


class Payment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    invoice = models.ForeignKey(Invoice, models.PROTECT, related_name="payments")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    paid = models.DateTimeField()


class LedgerEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    journal = models.UUIDField()
    gl_account = models.IntegerField(choices=GlAccount.choices)
    currency = models.CharField(max_length=3)
    debit = models.DecimalField(max_digits=12, decimal_places=2)
    credit = models.DecimalField(max_digits=12, decimal_places=2)
    invoice = models.ForeignKey(Invoice, models.PROTECT, null=True, related_name="ledger_entries")
    payment = models.ForeignKey(Payment, models.PROTECT, null=True, related_name="ledger_entries")
    posted_on = models.DateField()
