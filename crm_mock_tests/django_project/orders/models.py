"""The Orders service's models over crm_mock's `orders` tables."""

from django.db import models


class AccountReplica(models.Model):
    account_uuid = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=120)
    segment = models.CharField(max_length=20)
    status = models.CharField(max_length=20)

    class Meta:
        managed = False
        db_table = "account_replica"


class SalesOrder(models.Model):
    order_uuid = models.UUIDField(primary_key=True)
    account = models.ForeignKey(AccountReplica, models.DO_NOTHING, db_column="account_uuid", related_name="orders")
    quote_uuid = models.UUIDField(null=True)  # a Sales record: resolves in the Sales service
    status = models.CharField(max_length=20)
    order_date = models.DateField()
    shipped_at = models.DateTimeField(null=True)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        managed = False
        db_table = "sales_orders"


class OrderLine(models.Model):
    order_line_uuid = models.UUIDField(primary_key=True)
    order = models.ForeignKey(SalesOrder, models.DO_NOTHING, db_column="order_uuid", related_name="lines")
    product_uuid = models.UUIDField()
    quantity = models.BigIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        managed = False
        db_table = "order_lines"
