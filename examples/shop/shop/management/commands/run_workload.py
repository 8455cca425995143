"""Run the example shop's API workload through the real Django ORM.

Each "endpoint" below is what a typical Django API does; the mix is weighted like real traffic:
many order-history pages (with an N+1 on the customer), email logins (iexact), product search
(istartswith), a pending-orders dashboard, a revenue report no index can help, and writes
(new orders, status updates, soft deletes).

    python manage.py run_workload --rounds 200 [--emit-sql workload.sql]

With --emit-sql the SQL Django sent (with its literal values, as psycopg2 sends it) is written to
a file, one statement per line, so the same workload can be replayed with psql and gives the same
pg_stat_statements entries.
"""

import random
from datetime import datetime, timedelta, timezone

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Count, Sum

from shop.models import Customer, Order, OrderItem, Product, Review

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def customer_id(rng):
    # Same skew as data.sql: a few customers own many orders.
    return 1 + int(20000 * rng.random() ** 3)


class Command(BaseCommand):
    help = "Run the example shop's API workload through the Django ORM."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=100)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--emit-sql", default=None)
        parser.add_argument("--no-writes", action="store_true")

    def handle(self, *args, rounds, seed, emit_sql, no_writes, **options):
        rng = random.Random(seed)
        if emit_sql:
            connection.force_debug_cursor = True
        for r in range(rounds):
            self.order_history(rng)
            self.login(rng)
            self.product_search(rng)
            self.product_reviews(rng)
            self.order_detail(rng)
            if r % 2 == 0:
                self.active_customers(rng)
                self.has_pending(rng)
            if r % 5 == 0:
                self.pending_dashboard(rng)
                self.orders_in_period(rng)
                self.products_by_tag(rng)
                self.recent_logins(rng)
            if r % 20 == 0:
                self.revenue_report()
            if not no_writes:
                self.place_order(rng)
                self.ship_order(rng)
                if r % 10 == 0:
                    self.soft_delete_customer(rng)
        if emit_sql:
            with open(emit_sql, "w") as f:
                for q in connection.queries:
                    sql = q["sql"]
                    if not sql.strip():
                        continue
                    f.write(sql.replace("\n", " ") + ";\n")

    # Endpoints -----------------------------------------------------------------------------

    def order_history(self, rng):
        """GET /customers/<id>/orders: newest first, 20 a page, then the customer (N+1)."""
        orders = list(
            Order.objects.filter(
                customer_id=customer_id(rng), deleted_at__isnull=True
            ).order_by("-created_at")[:20]
        )
        for o in orders[:5]:
            _ = o.customer.email  # N+1: one query per order

    def login(self, rng):
        """POST /login: email looked up case-insensitively."""
        i = rng.randint(1, 20000)
        email = f"CUSTOMER{i}@EXAMPLE.COM" if i % 3 else f"customer{i}@example.com"
        Customer.objects.filter(email__iexact=email, deleted_at__isnull=True).first()

    def product_search(self, rng):
        """GET /products?q=: prefix search on the name."""
        q = f"product {rng.randint(1, 199)}"
        list(
            Product.objects.filter(name__istartswith=q, is_active=True).order_by(
                "name"
            )[:20]
        )

    def product_reviews(self, rng):
        """GET /products/<id>/reviews: newest first."""
        list(
            Review.objects.filter(product_id=rng.randint(1, 2000)).order_by(
                "-created_at"
            )[:10]
        )

    def order_detail(self, rng):
        """GET /orders/<id>: items with their products (already well indexed)."""
        list(
            OrderItem.objects.filter(order_id=rng.randint(1, 300000)).select_related(
                "product"
            )
        )

    def active_customers(self, rng):
        """GET /customers: newest active, not deleted."""
        list(
            Customer.objects.filter(deleted_at__isnull=True, is_active=True).order_by(
                "-created_at"
            )[rng.randint(0, 3) * 50 : rng.randint(0, 3) * 50 + 50]
        )

    def has_pending(self, rng):
        """Badge: does this customer have a pending order?"""
        Order.objects.filter(customer_id=customer_id(rng), status="pending").exists()

    def pending_dashboard(self, rng):
        """GET /admin/pending: the oldest pending orders (1% of all orders)."""
        list(Order.objects.filter(status="pending").order_by("created_at")[:100])

    def orders_in_period(self, rng):
        """GET /stats/orders?from=&to=: a week's count."""
        start = EPOCH - timedelta(days=rng.randint(7, 700))
        Order.objects.filter(
            created_at__gte=start, created_at__lt=start + timedelta(days=7)
        ).count()

    def products_by_tag(self, rng):
        """GET /tags/<id>/products (M2M)."""
        list(
            Product.objects.filter(
                tags__id=rng.randint(1, 50), is_active=True
            ).order_by("id")[:20]
        )

    def recent_logins(self, rng):
        """GET /admin/users/recent (contrib.auth table)."""
        get_user_model().objects.filter(
            last_login__gte=EPOCH - timedelta(days=rng.randint(1, 3))
        ).count()

    def revenue_report(self):
        """GET /reports/revenue: an aggregate over every order; no index helps."""
        list(
            Order.objects.values("status")
            .annotate(n=Count("id"), revenue=Sum("total"))
            .order_by("status")
        )

    def place_order(self, rng):
        """POST /orders: a new order with two items."""
        with transaction.atomic():
            o = Order.objects.create(
                customer_id=customer_id(rng),
                status="pending",
                created_at=EPOCH,
                total=rng.randint(5, 900),
            )
            OrderItem.objects.bulk_create(
                [
                    OrderItem(
                        order=o, product_id=rng.randint(1, 2000), quantity=1, price=10
                    )
                    for _ in range(2)
                ]
            )

    def ship_order(self, rng):
        """POST /orders/<id>/ship: the status changes (an UPDATE of status)."""
        Order.objects.filter(id=rng.randint(1, 300000)).update(status="shipped")

    def soft_delete_customer(self, rng):
        """DELETE /customers/<id>: soft deletion."""
        Customer.objects.filter(id=rng.randint(1, 20000)).update(deleted_at=EPOCH)
