"""The services' choices, spelled the Django way: lower-case values (``on_hold``), where crm_mock's model has
upper-case codes (``ON_HOLD``); the mapping's value maps translate between the two. Tickets' priorities are
integers, as an IntegerChoices field stores them."""

from django.db import models

from crm_mock.model import vocabularies as v


def lower(name: str, words: tuple[str, ...]) -> type[models.TextChoices]:
    return models.TextChoices(name, [(w, w.lower()) for w in words])


AccountStatus = lower("AccountStatus", v.ACCOUNT_STATUS)
Segment = lower("Segment", v.ACCOUNT_SEGMENT)
Industry = lower("Industry", v.INDUSTRY)
CreditStatus = lower("CreditStatus", v.CREDIT_STATUS)
ProductType = lower("ProductType", v.PRODUCT_TYPE)
ProductStatus = lower("ProductStatus", v.PRODUCT_STATUS)
UnitOfMeasure = lower("UnitOfMeasure", v.UNIT_OF_MEASURE)
MovementType = lower("MovementType", v.MOVEMENT_TYPE)
OrderStatus = lower("OrderStatus", v.ORDER_STATUS)
InvoiceStatus = lower("InvoiceStatus", v.INVOICE_STATUS)
PaymentTerms = lower("PaymentTerms", v.PAYMENT_TERMS)
PaymentMethod = lower("PaymentMethod", v.PAYMENT_METHOD)
TicketStatus = lower("TicketStatus", v.TICKET_STATUS)
TicketChannel = lower("TicketChannel", v.TICKET_CHANNEL)
EmployeeStatus = lower("EmployeeStatus", v.EMPLOYEE_STATUS)
Department = lower("Department", v.DEPARTMENT)
LeadStatus = lower("LeadStatus", v.LEAD_STATUS)
LeadSource = lower("LeadSource", v.LEAD_SOURCE)
Stage = lower("Stage", v.OPPORTUNITY_STAGE)
QuoteStatus = lower("QuoteStatus", v.QUOTE_STATUS)
TicketCategory = lower("TicketCategory", v.TICKET_CATEGORY)


class Priority(models.IntegerChoices):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


class GlAccount(models.IntegerChoices):
    """The chart of accounts by number, as a ledger keeps it."""

    ACCOUNTS_RECEIVABLE = 1100
    CASH = 1000
    REVENUE = 4000
    SALES_TAX = 2200
    RETURNS = 4900
    BAD_DEBT = 6900
