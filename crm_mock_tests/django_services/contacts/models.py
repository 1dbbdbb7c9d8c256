"""The Contact service: accounts and their people, with a replica of HR's employees and a notes table of the
service's own that references accounts (crm_mock never writes it)."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import AccountStatus, Department, EmployeeStatus, Industry, Segment


class Employee(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)
    email = models.EmailField(max_length=120)
    department = models.CharField(max_length=20, choices=Department.choices)
    status = models.CharField(max_length=20, choices=EmployeeStatus.choices)


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=120)
    segment = models.CharField(max_length=20, choices=Segment.choices)
    industry = models.CharField(max_length=20, choices=Industry.choices)
    status = models.CharField(max_length=20, choices=AccountStatus.choices)
    street = models.CharField(max_length=200)
    city = models.CharField(max_length=80)
    region = models.CharField(max_length=80, null=True)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2)
    currency = models.CharField(max_length=3)
    phone = models.CharField(max_length=40)
    website = models.URLField(max_length=200, null=True, blank=True)
    owner = models.ForeignKey(Employee, models.PROTECT, related_name="accounts")
    created = models.DateTimeField()
    is_active = models.BooleanField()
    version = models.PositiveIntegerField(default=1)
    created_by_id = models.IntegerField(null=True)  # the service's user who created it; none for loaded rows


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    account = models.ForeignKey(Account, models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=40)
    job_title = models.CharField(max_length=80, null=True)
    created = models.DateTimeField()


class Note(models.Model):
    """The service's own: crm_mock does not map it, and a load must keep its rows."""

    account = models.ForeignKey(Account, models.CASCADE, related_name="notes")
    text = models.TextField()
