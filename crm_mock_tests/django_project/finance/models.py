"""The Finance service's models over crm_mock's `finance` tables."""

from django.db import models


class CustomerAccount(models.Model):
    account_uuid = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=120)
    credit_status = models.CharField(max_length=20)
    credit_limit = models.DecimalField(max_digits=12, decimal_places=2)
    balance = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        managed = False
        db_table = "customer_accounts"


class Invoice(models.Model):
    invoice_uuid = models.UUIDField(primary_key=True)
    order_uuid = models.UUIDField(unique=True)  # an Orders record: resolves in the Orders service
    account = models.ForeignKey(CustomerAccount, models.DO_NOTHING, db_column="account_uuid",
                                related_name="invoices")
    status = models.CharField(max_length=20)
    issue_date = models.DateField(null=True)
    due_date = models.DateField(null=True)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        managed = False
        db_table = "invoices"


class Payment(models.Model):
    payment_uuid = models.UUIDField(primary_key=True)
    invoice = models.ForeignKey(Invoice, models.DO_NOTHING, db_column="invoice_uuid", related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    paid_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "payments"
