"""Measure the per-call round-trip overhead of a Django ORM lookup, outside the database.

idxadvise's triage weighs each statement by its execution time plus a per-call overhead
(client, network, driver, ORM), so thousands of fast lookups rank as what they cost a request.
This measures that overhead on your machine and network:

    python manage.py measure_overhead [--calls 5000]

It runs `Customer.objects.filter(pk=…).first()` N times, takes the wall time per call, and
subtracts the statement's mean execution time from pg_stat_statements (reset of that entry is
not needed: the mean is read before and after, and the difference of totals is used). Prints the
overhead in ms per call: pass it to `idxadvise analyze --per-call-overhead`.
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection

from shop.models import Customer

PGSS = """
SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0)::float8
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database()
  AND query LIKE 'SELECT %%FROM "shop_customer" WHERE "shop_customer"."id" = $1 ORDER BY%%'
"""


class Command(BaseCommand):
    help = "Measure the per-call overhead of an ORM lookup outside the database."

    def add_arguments(self, parser):
        parser.add_argument("--calls", type=int, default=5000)

    def read(self):
        with connection.cursor() as c:
            c.execute(PGSS)
            return c.fetchone()

    def handle(self, *args, calls, **options):
        ids = list(Customer.objects.values_list("id", flat=True)[:1000])
        if not ids:
            raise SystemExit("measure_overhead: no customers in the database")
        Customer.objects.filter(pk=ids[0]).first()  # warm up the connection
        calls0, total0 = self.read()
        start = time.perf_counter()
        for i in range(calls):
            Customer.objects.filter(pk=ids[i % len(ids)]).first()
        wall_ms = (time.perf_counter() - start) * 1000.0
        calls1, total1 = self.read()
        n = calls1 - calls0
        if n < calls:
            raise SystemExit(
                f"measure_overhead: pg_stat_statements saw {n} of {calls} calls "
                "(is pg_stat_statements.track on for this role?)"
            )
        exec_ms = (total1 - total0) / n
        per_call = wall_ms / calls
        self.stdout.write(
            f"calls {calls}: wall {per_call:.3f} ms/call, execution {exec_ms:.3f} ms/call, "
            f"overhead {per_call - exec_ms:.3f} ms/call"
        )
