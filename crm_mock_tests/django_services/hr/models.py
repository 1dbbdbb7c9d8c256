"""The HR service: employees, the master every other service replicates."""

import uuid

from django.db import models

from crm_mock_tests.django_services.choices import Department, EmployeeStatus


class Employee(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    manager = models.ForeignKey("self", models.PROTECT, null=True, related_name="reports")
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)
    email = models.EmailField(max_length=120, unique=True)
    department = models.CharField(max_length=20, choices=Department.choices)
    title = models.CharField(max_length=80)
    hired_on = models.DateField()
    status = models.CharField(max_length=20, choices=EmployeeStatus.choices)
    is_active = models.BooleanField()  # derived from status by the service
    version = models.PositiveIntegerField(default=1)
