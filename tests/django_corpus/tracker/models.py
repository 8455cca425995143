"""Tracker: projects, issues with labels and watchers, comments, attachments and an audit log.

Soft deletion on Project and Issue (`deleted_at`; the default manager hides deleted rows), a
JSONField on Project, Issue and AuditLog, db_table overrides on Comment, Label and AuditLog, an
auto-created M2M table (Issue.labels) and an M2M to the swapped user model (Issue.watchers).
"""

from django.conf import settings
from django.db import models


class LiveManager(models.Manager):
    """Rows that are not soft-deleted."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Project(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    slug = models.SlugField()
    is_archived = models.BooleanField(default=False)
    settings = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = LiveManager()
    all_objects = models.Manager()


class Label(models.Model):
    name = models.CharField(max_length=60, unique=True)
    color = models.CharField(max_length=7, db_column="colour")

    class Meta:
        db_table = "tracker_labels"


class Issue(models.Model):
    STATUS = [("open", "Open"), ("in_progress", "In progress"), ("closed", "Closed")]
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issues")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned",
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=STATUS, default="open")
    priority = models.PositiveSmallIntegerField(default=3)
    is_public = models.BooleanField(default=True)
    reporter_email = models.EmailField()
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict)
    labels = models.ManyToManyField(Label, blank=True, related_name="issues")
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watching"
    )

    objects = LiveManager()
    all_objects = models.Manager()


class Comment(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    body = models.TextField()
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "tracker_comments"


class Attachment(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    uploaded_at = models.DateTimeField()


class AuditLog(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "audit_log"
