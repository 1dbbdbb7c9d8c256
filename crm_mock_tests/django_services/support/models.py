"""The Support service: tickets (integer priorities), with replicas of accounts and employees."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import (
    AccountStatus, Department, EmployeeStatus, Priority, Segment, TicketCategory, TicketChannel, TicketStatus,
)


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=120)
    segment = models.CharField(max_length=20, choices=Segment.choices)
    status = models.CharField(max_length=20, choices=AccountStatus.choices)


class Employee(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)
    email = models.EmailField(max_length=120)
    department = models.CharField(max_length=20, choices=Department.choices)
    status = models.CharField(max_length=20, choices=EmployeeStatus.choices)


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    number = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(Account, models.PROTECT, related_name="tickets")
    contact_uuid = models.UUIDField(null=True)  # a Contact record: resolves in the Contact service
    assignee = models.ForeignKey(Employee, models.SET_NULL, null=True, related_name="tickets")
    category = models.CharField(max_length=20, choices=TicketCategory.choices)
    subject = models.CharField(max_length=200)
    description = models.TextField()
    order_uuid = models.UUIDField(null=True)  # the Orders record the ticket is about, if any
    invoice_uuid = models.UUIDField(null=True)  # the Finance one
    product_uuid = models.UUIDField(null=True)  # the Inventory one
    channel = models.CharField(max_length=20, choices=TicketChannel.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    status = models.CharField(max_length=20, choices=TicketStatus.choices)
    created = models.DateTimeField()
    sla_due = models.DateTimeField()
    first_response = models.DateTimeField(null=True)
    resolved = models.DateTimeField(null=True)
