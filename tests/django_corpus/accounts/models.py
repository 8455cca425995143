"""Accounts: a swapped user model, teams and memberships (an M2M with a through model)."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The project's user (AUTH_USER_MODEL), with a verified flag and a profile JSON."""

    is_verified = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, default="UTC")
    profile = models.JSONField(default=dict, blank=True)


class Team(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField()
    members = models.ManyToManyField(User, through="Membership", related_name="teams")


class Membership(models.Model):
    ROLES = [("owner", "Owner"), ("admin", "Admin"), ("member", "Member")]
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=ROLES, default="member")
    joined_at = models.DateTimeField()

    class Meta:
        unique_together = [("team", "user")]
