"""Run a broad ORM workload against the database and write what pg_stat_statements recorded.

    python manage.py capture_corpus --out corpus.json

Steps: reset pg_stat_statements for this database (through the `meta` alias, whose sessions
are not tracked), seed data with bulk_create, run the ORM patterns a typical Django API and its
admin use (select_related, prefetch_related IN lists, annotations, pagination, Exists/OuterRef
subqueries, text and date lookups, JSON key lookups, get_or_create savepoints, updates, cascading
deletes, select_for_update in transactions…), then read pg_stat_statements back through `meta`.

The JSON written: {"django": "<version>", "python": "<version>", "statements": [{"queryid",
"query", "calls"}, …]} with statements sorted by text then queryid (queryids depend on table
OIDs, so they change from one database to the next; texts do not).
"""

import json
import platform
import random
from datetime import date, datetime, timedelta, timezone

import django
from django.core.management.base import BaseCommand
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, TruncDay, TruncMonth, Upper

from accounts.models import Membership, Team, User
from tracker.models import Attachment, AuditLog, Comment, Issue, Label, Project

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(days, hours=0):
    return EPOCH + timedelta(days=days, hours=hours)


class Command(BaseCommand):
    help = "Run the corpus ORM workload and write pg_stat_statements as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)
        parser.add_argument("--seed", type=int, default=3)

    def handle(self, *args, out, seed, **options):
        meta = connections["meta"]
        with meta.cursor() as c:
            c.execute(
                "SELECT pg_stat_statements_reset(0, "
                "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
            )
        self.rng = random.Random(seed)
        self.seed_data()
        self.reads()
        self.lookups()
        self.aggregates()
        self.arithmetic()
        self.subqueries()
        self.admin_changelist()
        self.writes()
        self.transactions()
        self.deletes()
        with meta.cursor() as c:
            c.execute(
                "SELECT queryid, query, calls FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY query, queryid"
            )
            rows = [{"queryid": q, "query": t, "calls": n} for q, t, n in c.fetchall()]
        with open(out, "w") as f:
            json.dump(
                {
                    "django": django.get_version(),
                    "python": platform.python_version(),
                    "statements": rows,
                },
                f,
                indent=1,
                sort_keys=True,
            )
            f.write("\n")
        self.stderr.write(f"capture_corpus: {len(rows)} statements\n")

    # Data ------------------------------------------------------------------------------------

    def seed_data(self):
        rng = self.rng
        users = [
            User(
                username=f"user{k}",
                email=f"user{k}@example.{'com' if k % 3 else 'org'}",
                first_name=f"First{k}",
                last_name=f"Last{k % 17}",
                is_active=k % 11 != 0,
                is_staff=k < 5,
                is_verified=k % 2 == 0,
                date_joined=at(-k),
                last_login=None if k % 4 == 0 else at(k % 30),
                profile={"plan": "pro" if k % 5 == 0 else "free", "beta": k % 7 == 0},
            )
            for k in range(120)
        ]
        User.objects.bulk_create(users, batch_size=50)
        users = list(User.objects.order_by("id"))
        teams = Team.objects.bulk_create(
            [Team(name=f"Team {k}", slug=f"team-{k}", created_at=at(-100 + k)) for k in range(8)]
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    team=teams[k % 8],
                    user=u,
                    role="owner" if k < 8 else "member",
                    joined_at=at(-50 + k % 40),
                )
                for k, u in enumerate(users)
            ]
        )
        projects = Project.all_objects.bulk_create(
            [
                Project(
                    team=teams[k % 8],
                    name=f"Project {k}",
                    slug=f"project-{k}",
                    is_archived=k % 6 == 5,
                    settings={"visibility": "private" if k % 3 else "public", "sla_days": k % 5},
                    created_at=at(-90 + k),
                    deleted_at=at(10) if k == 23 else None,
                )
                for k in range(24)
            ]
        )
        labels = Label.objects.bulk_create(
            [Label(name=n, color=f"#{k:06x}") for k, n in enumerate(
                ["bug", "feature", "docs", "urgent", "ui", "api", "db", "wontfix"]
            )]
        )
        statuses = ["open"] * 5 + ["in_progress"] * 2 + ["closed"] * 3
        issues = []
        for k in range(600):
            created = at(-80 + k % 90, k % 24)
            status = rng.choice(statuses)
            issues.append(
                Issue(
                    project=projects[k % 23],
                    reporter=users[rng.randrange(120)],
                    assignee=None if k % 5 == 0 else users[rng.randrange(40)],
                    title=f"Issue {k}: {rng.choice(['crash', 'slow page', 'typo', 'login fails'])}",
                    body="Steps to reproduce…",
                    status=status,
                    priority=1 + k % 5,
                    is_public=k % 9 != 0,
                    reporter_email=f"user{k % 120}@example.com",
                    due_date=None if k % 3 else date(2026, 3, 1) + timedelta(days=k % 60),
                    created_at=created,
                    updated_at=created + timedelta(hours=5),
                    closed_at=created + timedelta(days=3) if status == "closed" else None,
                    deleted_at=at(20) if k % 50 == 49 else None,
                    metadata={"source": rng.choice(["web", "email", "api"]), "browser": {"name": "firefox"}},
                )
            )
        Issue.all_objects.bulk_create(issues, batch_size=200)
        issues = list(Issue.all_objects.order_by("id"))
        Through = Issue.labels.through
        Through.objects.bulk_create(
            [Through(issue_id=i.id, label_id=labels[k % 8].id) for k, i in enumerate(issues)]
            + [Through(issue_id=i.id, label_id=labels[(k + 3) % 8].id) for k, i in enumerate(issues[::3])]
        )
        comments = Comment.objects.bulk_create(
            [
                Comment(
                    issue=issues[k % 600],
                    author=users[rng.randrange(120)],
                    body=f"comment {k}",
                    is_internal=k % 4 == 0,
                    created_at=at(-60 + k % 70),
                )
                for k in range(1500)
            ],
            batch_size=500,
        )
        Attachment.objects.bulk_create(
            [
                Attachment(comment=comments[k * 7], filename=f"file{k}.png", size_bytes=1000 * k, uploaded_at=at(k % 30))
                for k in range(150)
            ]
        )
        AuditLog.objects.bulk_create(
            [
                AuditLog(actor=users[k % 120], action=rng.choice(["login", "update", "delete"]), object_id=k, payload={"ip": f"10.0.0.{k % 250}"}, created_at=at(k % 60))
                for k in range(300)
            ]
        )
        self.users = users
        self.issues = issues
        self.projects = projects
        self.labels = labels
        self.teams = teams

    # Reads -----------------------------------------------------------------------------------

    def reads(self):
        rng = self.rng
        # get() by pk and by unique fields.
        Issue.objects.get(pk=self.issues[5].pk)
        User.objects.get(username="user7")
        Team.objects.get(slug="team-3")
        Label.objects.get(name="bug")
        Project.objects.filter(team_id=self.teams[1].id, slug="project-1").first()
        # select_related: one, two and nested joins; nullable FK (LEFT OUTER JOIN).
        list(Issue.objects.select_related("project").filter(status="open").order_by("-created_at")[:20])
        list(Issue.objects.select_related("project", "reporter", "assignee").filter(project_id=self.projects[2].id)[:50])
        list(Issue.objects.select_related("project__team").filter(priority__lte=2).order_by("priority", "-updated_at")[:25])
        list(Comment.objects.select_related("issue", "author").filter(issue_id=self.issues[10].id).order_by("created_at"))
        list(Attachment.objects.select_related("comment__issue__project").filter(size_bytes__gte=50000)[:10])
        list(Membership.objects.select_related("user", "team").filter(team__slug="team-2"))
        # prefetch_related: IN lists of several lengths.
        for n in (1, 2, 3, 5, 8, 13, 20):
            ids = [i.id for i in self.issues[:n]]
            list(Issue.objects.filter(id__in=ids).prefetch_related("labels", "comments"))
        for n in (2, 4, 6):
            list(Project.objects.filter(id__in=[p.id for p in self.projects[:n]]).prefetch_related("issues"))
        list(Team.objects.prefetch_related("members").order_by("name"))
        list(Issue.objects.filter(project_id=self.projects[3].id).prefetch_related(
            Prefetch("comments", queryset=Comment.objects.filter(is_internal=False).order_by("-created_at"))
        ))
        list(User.objects.filter(is_staff=True).prefetch_related("watching", "teams"))
        # Reverse FK and M2M managers.
        list(self.projects[4].issues.all())
        list(self.issues[7].labels.all())
        list(self.issues[7].watchers.all())
        list(self.users[3].reported.filter(status="closed"))
        list(self.labels[0].issues.filter(is_public=True)[:10])
        # Pagination: Paginator count + OFFSET pages.
        qs = Issue.objects.filter(status="open").order_by("-created_at", "-id")
        p = Paginator(qs, 25)
        for page in (1, 2, 3):
            list(p.page(page).object_list)
        list(Issue.objects.order_by("id")[100:110])
        list(Comment.objects.filter(is_internal=False).order_by("-created_at")[50:75])
        # order_by with nulls_last / nulls_first and expressions.
        list(Issue.objects.order_by(F("due_date").asc(nulls_last=True))[:20])
        list(Issue.objects.order_by(F("closed_at").desc(nulls_first=True))[:20])
        list(User.objects.order_by(F("last_login").desc(nulls_last=True), "username")[:10])
        list(Issue.objects.order_by(Lower("title"))[:10])
        # values / values_list / distinct / exists / first / last / count / in_bulk / only / defer.
        list(Issue.objects.values("id", "title").filter(project_id=self.projects[5].id))
        list(Issue.objects.values_list("id", flat=True).filter(assignee_id=self.users[2].id))
        list(Issue.objects.values_list("status", "priority").distinct())
        list(Issue.objects.values("project_id").distinct().order_by("project_id"))
        list(Comment.objects.values_list("author_id", flat=True).distinct())
        list(Issue.objects.filter(labels__name__in=["bug", "urgent"]).distinct())
        Issue.objects.filter(reporter_id=self.users[8].id).exists()
        User.objects.filter(email__iexact="USER9@EXAMPLE.COM").exists()
        Issue.objects.filter(project_id=self.projects[6].id).first()
        Issue.objects.filter(status="closed").last()
        Issue.objects.count()
        Issue.objects.filter(assignee__isnull=True).count()
        Comment.objects.filter(issue__project_id=self.projects[1].id).count()
        Issue.objects.in_bulk([i.id for i in self.issues[:4]])
        list(Issue.objects.only("id", "status").filter(priority=1))
        list(Issue.objects.defer("body", "metadata").filter(is_public=False)[:30])
        Issue.objects.latest("created_at")
        Issue.objects.filter(project_id=self.projects[1].id).earliest("created_at")
        list(Project.objects.filter(is_archived=False).order_by("name"))
        list(Project.all_objects.filter(deleted_at__isnull=False))
        list(User.objects.filter(is_active=True, is_verified=False).order_by("-date_joined")[:15])
        # Iterator (server-side cursor: DECLARE … CURSOR).
        for _ in Comment.objects.filter(is_internal=True).iterator(chunk_size=100):
            pass
        rng.random()

    def lookups(self):
        # Text lookups.
        list(User.objects.filter(email__iexact="User10@Example.com"))
        list(User.objects.filter(username__iexact="USER11"))
        list(Issue.objects.filter(title__icontains="crash")[:20])
        list(Issue.objects.filter(title__contains="slow")[:20])
        list(Issue.objects.filter(title__startswith="Issue 1")[:20])
        list(Issue.objects.filter(title__istartswith="issue 2")[:20])
        list(Issue.objects.filter(title__endswith="typo")[:20])
        list(User.objects.filter(last_name__iendswith="st3"))
        list(Issue.objects.filter(reporter_email__iexact="user5@example.com"))
        list(User.objects.filter(email__endswith="@example.org"))
        list(Issue.objects.filter(title__regex=r"^Issue [0-9]+: crash$")[:5])
        list(Issue.objects.annotate(t=Upper("title")).filter(t__startswith="ISSUE 3")[:5])
        # Dates.
        list(Issue.objects.filter(created_at__date=date(2026, 1, 5)))
        list(Issue.objects.filter(created_at__year=2025))
        list(Issue.objects.filter(created_at__year=2026, created_at__month=1))
        list(Issue.objects.filter(due_date__lt=date(2026, 3, 10)))
        list(Issue.objects.filter(due_date__range=(date(2026, 3, 1), date(2026, 3, 31))))
        list(Issue.objects.filter(created_at__gte=at(-10), created_at__lt=at(0)))
        list(Issue.objects.filter(created_at__week_day=2)[:10])
        list(Comment.objects.filter(created_at__date__gte=date(2026, 1, 1))[:10])
        list(AuditLog.objects.filter(created_at__hour=3)[:10])
        # __in of several lengths, negations, isnull, Q combinations.
        for n in (1, 2, 3, 4, 7):
            list(User.objects.filter(id__in=[u.id for u in self.users[:n]]))
        list(Issue.objects.filter(status__in=["open", "in_progress"]))
        list(Issue.objects.exclude(status="closed").filter(priority__gt=3))
        list(Issue.objects.filter(Q(assignee__isnull=True) | Q(priority=1)))
        list(Issue.objects.filter(~Q(status="closed"), Q(due_date__isnull=False)))
        list(Issue.objects.filter(project__team__slug="team-1", project__is_archived=False))
        list(Issue.objects.filter(labels__in=self.labels[:2]).distinct())
        list(Issue.objects.filter(watchers=self.users[1]))
        list(Issue.objects.filter(assignee__teams__slug="team-4").distinct()[:10])
        # JSON key lookups.
        list(Issue.objects.filter(metadata__source="email")[:20])
        list(Issue.objects.filter(metadata__browser__name="firefox")[:5])
        list(Issue.objects.filter(metadata__has_key="source")[:5])
        list(Issue.objects.filter(metadata__contains={"source": "api"})[:5])
        list(Project.objects.filter(settings__visibility="public"))
        list(Project.objects.filter(settings__sla_days__gte=2))
        list(User.objects.filter(profile__plan="pro"))
        list(AuditLog.objects.filter(payload__ip__startswith="10.0.0.1")[:5])
        list(Issue.objects.values("metadata__source").annotate(n=Count("id")).order_by("metadata__source"))
        # F() comparisons.
        list(Issue.objects.filter(updated_at__gt=F("created_at") + timedelta(hours=1))[:10])
        list(Issue.objects.filter(closed_at__lt=F("due_date"))[:10])
        list(Issue.objects.filter(reporter=F("assignee")))

    def aggregates(self):
        list(Project.objects.annotate(n=Count("issues")).order_by("-n")[:10])
        list(Project.objects.annotate(open_n=Count("issues", filter=Q(issues__status="open"))).filter(open_n__gt=5))
        list(User.objects.annotate(n=Count("reported", distinct=True), c=Count("comment", distinct=True)).order_by("-n")[:10])
        list(Team.objects.annotate(members_n=Count("members")).values("name", "members_n"))
        list(Issue.objects.values("status").annotate(n=Count("id")).order_by())
        list(Issue.objects.values("project_id", "status").annotate(n=Count("id"), latest=Max("updated_at")))
        Issue.objects.aggregate(Avg("priority"), Max("created_at"), Min("created_at"))
        Attachment.objects.aggregate(total=Sum("size_bytes"))
        Comment.objects.filter(is_internal=True).aggregate(n=Count("id"))
        list(Issue.objects.annotate(day=TruncDay("created_at")).values("day").annotate(n=Count("id")).order_by("day"))
        list(Comment.objects.annotate(month=TruncMonth("created_at")).values("month").annotate(n=Count("id")))
        list(Issue.objects.annotate(
            bucket=Case(
                When(priority__lte=2, then=Value("high")),
                When(priority__lte=4, then=Value("medium")),
                default=Value("low"),
                output_field=CharField(),
            )
        ).values("bucket").annotate(n=Count("id")))
        list(Issue.objects.annotate(c=Coalesce("assignee_id", "reporter_id")).filter(c=self.users[1].id))
        list(Label.objects.annotate(n=Count("issues")).filter(n__gte=10).order_by("name"))
        list(Issue.objects.annotate(nc=Count("comments")).filter(nc=0)[:10])

    def arithmetic(self):
        """Arithmetic and annotations over parameters: pg_stat_statements leaves `$1 * $2`,
        `sum(CASE … THEN $1 ELSE $2 END)`, `$1::date - $2::interval`, which the server cannot
        type alone (every one must still plan)."""
        # F() * Value(): a column times a parameter, compared with a parameter.
        list(Attachment.objects.annotate(kb=F("size_bytes") * Value(2)).filter(kb__gt=1000)[:10])
        # ExpressionWrapper, compared with arithmetic between two parameters.
        list(
            Attachment.objects.annotate(
                mb=ExpressionWrapper(F("size_bytes") / Value(1048576.0), output_field=FloatField())
            ).filter(mb__lt=Value(5.0) + Value(1.5))[:10]
        )
        # An annotation over parameters only, then with a column.
        list(Issue.objects.annotate(score=Value(2) * Value(3) + F("priority")).filter(score__gte=5)[:10])
        list(Issue.objects.filter(priority__gte=Value(1) + Value(1)).values("id")[:10])
        # Date arithmetic with timedelta: a date parameter minus an interval, a column plus one.
        list(
            Issue.objects.filter(
                due_date__lte=ExpressionWrapper(
                    Value(date(2026, 4, 1)) - Value(timedelta(days=7)), output_field=DateField()
                )
            )[:10]
        )
        list(
            Issue.objects.annotate(
                deadline=ExpressionWrapper(F("created_at") + timedelta(days=14), output_field=DateTimeField())
            ).filter(deadline__lt=EPOCH + timedelta(days=30))[:10]
        )
        # Sum(F * F) with a filter parameter; Sum of a column times a parameter.
        Issue.objects.filter(status="open").aggregate(
            w=Sum(F("priority") * F("priority"), filter=Q(is_public=True))
        )
        Attachment.objects.aggregate(total=Sum(F("size_bytes") * Value(2), filter=Q(size_bytes__gt=100)))
        # Sum over a CASE of parameters (TPC-H Q12's shape).
        Issue.objects.aggregate(
            high=Sum(Case(When(priority__lte=2, then=Value(1)), default=Value(0), output_field=IntegerField()))
        )

    def subqueries(self):
        latest = Comment.objects.filter(issue=OuterRef("pk")).order_by("-created_at")
        list(Issue.objects.annotate(last_comment_at=Subquery(latest.values("created_at")[:1])).order_by("-last_comment_at")[:20])
        list(Issue.objects.annotate(has_attachment=Exists(Attachment.objects.filter(comment__issue=OuterRef("pk")))).filter(has_attachment=True))
        list(Issue.objects.filter(Exists(Comment.objects.filter(issue=OuterRef("pk"), is_internal=True))))
        list(Issue.objects.filter(~Exists(Comment.objects.filter(issue=OuterRef("pk"))))[:10])
        list(User.objects.filter(Exists(Membership.objects.filter(user=OuterRef("pk"), role="owner"))))
        list(Project.objects.annotate(
            open_count=Subquery(
                Issue.objects.filter(project=OuterRef("pk"), status="open").values("project").annotate(c=Count("id")).values("c"),
                output_field=IntegerField(),
            )
        ))
        list(Issue.objects.filter(project__in=Project.objects.filter(is_archived=True)))
        list(Issue.objects.filter(id__in=Comment.objects.filter(author_id=self.users[4].id).values("issue_id")))
        list(User.objects.filter(pk__in=Issue.objects.filter(status="open").values("assignee")).order_by("username"))

    def admin_changelist(self):
        # What the admin changelist sends for search_fields = ["title", "reporter_email",
        # "reporter__username"] with list_filter on status and pagination (count + page).
        for term in ("crash", "user5"):
            qs = Issue.objects.select_related("project", "reporter").filter(
                Q(title__icontains=term) | Q(reporter_email__icontains=term) | Q(reporter__username__icontains=term)
            ).filter(status="open").order_by("-id")
            qs.count()
            list(qs[:100])
        qs = User.objects.filter(
            Q(username__icontains="user1") | Q(first_name__icontains="user1") | Q(last_name__icontains="user1") | Q(email__icontains="user1")
        ).order_by("username")
        qs.count()
        list(qs[:100])
        list(qs[100:200])
        Issue.objects.all().count()

    # Writes ----------------------------------------------------------------------------------

    def writes(self):
        u = self.users
        issue = Issue.objects.create(
            project=self.projects[0], reporter=u[1], title="New issue", reporter_email="a@example.com",
            created_at=at(1), updated_at=at(1), metadata={"source": "api"},
        )
        issue.labels.add(self.labels[0], self.labels[3])
        issue.watchers.add(u[2])
        issue.watchers.set([u[3], u[4]])
        issue.labels.remove(self.labels[0])
        issue.title = "Renamed issue"
        issue.save()
        issue.save(update_fields=["title", "updated_at"])
        Issue.objects.filter(pk=issue.pk).update(status="closed", closed_at=at(2))
        Issue.objects.filter(project_id=self.projects[0].id, status="open").update(priority=F("priority") + 1)
        Issue.objects.filter(due_date__lt=date(2026, 3, 5), closed_at__isnull=True).update(status="in_progress", updated_at=at(3))
        User.objects.filter(pk=u[5].pk).update(last_login=at(4))
        Project.objects.filter(pk=self.projects[1].pk).update(settings={"visibility": "public", "sla_days": 1})
        # Soft delete.
        Issue.objects.filter(pk=self.issues[11].pk).update(deleted_at=at(5))
        Project.objects.filter(is_archived=True, deleted_at__isnull=True).update(deleted_at=at(6))
        # get_or_create / update_or_create: savepoints around the INSERT.
        Label.objects.get_or_create(name="bug", defaults={"color": "#ff0000"})
        Label.objects.get_or_create(name="perf", defaults={"color": "#00ff00"})
        Team.objects.update_or_create(slug="team-1", defaults={"name": "Team One"})
        Team.objects.update_or_create(slug="team-new", defaults={"name": "New", "created_at": at(7)})
        # bulk_create of other batch sizes, bulk_update, ignore_conflicts.
        Comment.objects.bulk_create([
            Comment(issue=issue, author=u[k], body="bulk", created_at=at(8)) for k in range(3)
        ])
        Label.objects.bulk_create([Label(name="bug", color="#000000"), Label(name="triage", color="#111111")], ignore_conflicts=True)
        cs = list(Comment.objects.filter(issue=issue))
        for c in cs:
            c.body = "edited"
        Comment.objects.bulk_update(cs, ["body"])
        AuditLog.objects.create(actor=u[1], action="update", object_id=issue.pk, payload={"fields": ["title"]}, created_at=at(9))
        self.new_issue = issue

    def transactions(self):
        with transaction.atomic():
            issue = Issue.objects.select_for_update().get(pk=self.issues[20].pk)
            issue.status = "closed"
            issue.closed_at = at(10)
            issue.save(update_fields=["status", "closed_at"])
        with transaction.atomic():
            list(Issue.objects.select_for_update(skip_locked=True).filter(status="open", assignee__isnull=True).order_by("created_at")[:5])
        with transaction.atomic():
            list(Project.objects.select_for_update(of=("self",)).select_related("team").filter(team_id=self.teams[2].id))
        with transaction.atomic():
            with transaction.atomic():
                Comment.objects.create(issue=self.issues[21], author=self.users[0], body="nested", created_at=at(11))
            try:
                with transaction.atomic():
                    Team.objects.create(name="dup", slug="team-1", created_at=at(12))
            except Exception:
                pass
        Issue.objects.filter(pk=self.issues[22].pk).update(updated_at=at(13))

    def deletes(self):
        # Cascades: issue → comments → attachments, M2M rows; SET_NULL on assignee/actor.
        Issue.all_objects.filter(pk=self.issues[30].pk).delete()
        self.new_issue.delete()
        Project.all_objects.filter(pk=self.projects[23].pk).delete()
        User.objects.filter(pk=self.users[119].pk).update(is_active=False)
        AuditLog.objects.filter(created_at__lt=at(5)).delete()
        Label.objects.filter(name="triage").delete()
        u = User.objects.create_user(username="leaver", email="leaver@example.com", password=None)
        AuditLog.objects.create(actor=u, action="login", payload={}, created_at=at(14))
        u.delete()
