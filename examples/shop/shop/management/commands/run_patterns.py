"""Plant the Django patterns idxadvise's triage recognises, through the real ORM.

Each endpoint below is a common way a Django API gets slow for reasons an index does not fix
(or not alone): a serializer N+1, a count per row, the paginator's COUNT(*), deep OFFSET pages,
an icontains search, a list that loads wide columns, "popular" sorted after a fan-out join,
order_by("?"), distinct() over a join, and the same read-mostly count asked again and again.

    python manage.py run_patterns --rounds 20 [--emit-sql patterns.sql]

With --emit-sql the SQL Django sent is written to a file, one statement per line, as
run_workload does; `examples/shop/patterns.sql` was captured this way (--rounds 20 --seed 11)
on a fresh load of data.sql.
"""

import random

from django.core.management.base import BaseCommand
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count

from shop.models import Customer, Order, Product, Review, Tag


class Command(BaseCommand):
    help = "Plant the Django patterns of idxadvise's triage."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=20)
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--emit-sql", default=None)

    def handle(self, *args, rounds, seed, emit_sql, **options):
        rng = random.Random(seed)
        if emit_sql:
            connection.force_debug_cursor = True
        for r in range(rounds):
            self.order_feed(rng)
            self.order_feed(rng)
            self.customers_with_order_counts(rng)
            self.paginated_orders(rng)
            self.customer_search(rng)
            self.review_list(rng)
            self.random_products()
            self.orders_with_products(rng)
            for _ in range(60):
                self.active_product_count()
            if r % 10 == 0:
                self.popular_tags()
        if emit_sql:
            with open(emit_sql, "w") as f:
                for q in connection.queries:
                    sql = q["sql"]
                    if sql.strip():
                        f.write(sql.replace("\n", " ") + ";\n")

    def order_feed(self, rng):
        """GET /orders/feed: 100 recent orders, serialized with their customer (N+1: 100
        lookups per request)."""
        for o in Order.objects.filter(customer_id__lte=rng.randint(2000, 20000)).order_by(
            "-id"
        )[:100]:
            _ = o.customer.name

    def customers_with_order_counts(self, rng):
        """GET /customers: a page of customers, each with `order_set.count()` (count per row)."""
        start = rng.randint(0, 19000)
        for c in Customer.objects.order_by("id")[start : start + 20]:
            _ = c.order_set.count()

    def paginated_orders(self, rng):
        """GET /orders?page=N: Django's Paginator counts every order, then OFFSETs deep."""
        page = Paginator(Order.objects.order_by("created_at"), 50).page(rng.randint(1, 500))
        list(page.object_list)

    def customer_search(self, rng):
        """GET /customers?search=: name__icontains (a leading wildcard)."""
        list(Customer.objects.filter(name__icontains=f"ustomer {rng.randint(100, 999)}")[:20])

    def review_list(self, rng):
        """GET /reviews?rating=5: every column, long bodies included."""
        list(Review.objects.filter(rating=rng.randint(1, 5)).order_by("-created_at")[:50])

    def random_products(self):
        """GET /home: three random products."""
        list(Product.objects.filter(is_active=True).order_by("?")[:3])

    def orders_with_products(self, rng):
        """GET /orders?product=a,b: orders containing either product, distinct()."""
        ids = [rng.randint(1, 2000), rng.randint(1, 2000)]
        list(Order.objects.filter(orderitem__product_id__in=ids).distinct()[:50])

    def active_product_count(self):
        """The header's "N products" badge, on every page."""
        Product.objects.filter(is_active=True).count()

    def popular_tags(self):
        """GET /tags/popular: tags by how often their products were ordered."""
        list(
            Tag.objects.annotate(n=Count("product__orderitem")).order_by("-n")[:10]
        )
