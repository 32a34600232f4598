"""The provider's users: Django's user with the attributes the provider releases (`request.user.attributes`,
keyed by claim name, e.g. `https://attributes.eid.gov.it/fiscal_number`)."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    attributes = models.JSONField(default=dict, blank=True)
