"""``python manage.py idxadvise check|analyze|verify [--database ALIAS] [--primary ALIAS] …``

Runs the ``idxadvise`` binary installed with this package against a database of
``settings.DATABASES``:

* the connection is built from the alias (HOST, PORT, NAME, USER, PASSWORD and the libpq keys
  of OPTIONS such as ``sslmode``) and handed to the binary in its environment
  (``DATABASE_URL``, ``IDXADVISE_PRIMARY_URL``), never on its command line, so the password is
  not in the process list;
* without ``--database``, when ``DATABASE_ROUTERS`` send reads to another alias (a replica),
  that alias is analysed and the write alias is the primary (for write statistics);
* ``analyze`` and ``verify`` get the project (``--django-project``), the settings module
  (``--settings``) and this Python (``--python``) unless given; ``analyze`` writes into
  ``./idxadvise-out`` (or the next free ``-N`` folder) unless ``--out`` or
  ``--write-into-project`` is given; ``verify`` reads the newest of those folders as its
  ``--baseline`` unless given.

Every other argument goes to the binary unchanged (``python manage.py idxadvise analyze --help``
shows them). The exit code is the binary's.
"""

import argparse
import os
import subprocess
import sys
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

SUBCOMMANDS = ("check", "analyze", "verify")
OUT_BASE = "idxadvise-out"

# OPTIONS keys that are libpq connection parameters the binary understands.
LIBPQ_OPTIONS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "passfile",
    "application_name",
    "options",
    "connect_timeout",
    "keepalives",
    "keepalives_idle",
    "target_session_attrs",
    "channel_binding",
)
# OPTIONS keys that configure Django or the driver, not the connection.
DRIVER_OPTIONS = (
    "isolation_level",
    "pool",
    "server_side_binding",
    "assume_role",
    "cursor_factory",
    "prepare_threshold",
    "client_encoding",
)


def connection_url(alias, warn):
    """A ``postgresql://`` URL for ``settings.DATABASES[alias]`` (password included: it only
    ever goes into the child's environment)."""
    if alias not in settings.DATABASES:
        raise CommandError(
            "unknown database alias %r (settings.DATABASES has %s)"
            % (alias, ", ".join(sorted(settings.DATABASES)))
        )
    if connections[alias].vendor != "postgresql":
        raise CommandError(
            "database %r is not PostgreSQL (ENGINE %s)"
            % (alias, settings.DATABASES[alias].get("ENGINE"))
        )
    db = settings.DATABASES[alias]
    user = db.get("USER") or ""
    password = db.get("PASSWORD") or ""
    auth = ""
    if user:
        auth = quote(str(user), safe="")
        if password:
            auth += ":" + quote(str(password), safe="")
        auth += "@"
    elif password:
        auth = ":" + quote(str(password), safe="") + "@"
    name = db.get("NAME") or "postgres"
    params = []
    host = str(db.get("HOST") or "")
    if host:
        params.append(("host", host))
    port = str(db.get("PORT") or "")
    if port:
        params.append(("port", port))
    for key, value in sorted((db.get("OPTIONS") or {}).items()):
        if key in LIBPQ_OPTIONS:
            params.append((key, str(value)))
        elif key not in DRIVER_OPTIONS:
            warn("OPTIONS[%r] of database %r is not passed to idxadvise" % (key, alias))
    query = "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in params)
    return "postgresql://%s/%s%s" % (auth, quote(str(name), safe=""), "?" + query if query else "")


def routed_aliases():
    """(read alias, write alias) most models are routed to by DATABASE_ROUTERS, or None when
    there are no routers."""
    if not getattr(settings, "DATABASE_ROUTERS", None):
        return None
    from django.apps import apps
    from django.db import router

    reads, writes = {}, {}
    for model in apps.get_models():
        r = router.db_for_read(model) or DEFAULT_DB_ALIAS
        w = router.db_for_write(model) or DEFAULT_DB_ALIAS
        reads[r] = reads.get(r, 0) + 1
        writes[w] = writes.get(w, 0) + 1
    if not reads:
        return None

    def most(counts):
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]

    return most(reads), most(writes)


def take_option(args, name):
    """Remove ``--name VALUE`` / ``--name=VALUE`` from ``args``; returns the last value."""
    value, kept, i = None, [], 0
    while i < len(args):
        a = args[i]
        if a == name:
            if i + 1 >= len(args):
                raise CommandError("%s needs a value" % name)
            value = args[i + 1]
            i += 2
            continue
        if a.startswith(name + "="):
            value = a[len(name) + 1 :]
        else:
            kept.append(a)
        i += 1
    args[:] = kept
    return value


def has_option(args, *names):
    return any(a == n or a.startswith(n + "=") for a in args for n in names)


def project_dir():
    """The folder with manage.py: the script being run, else BASE_DIR, else the current folder."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(script) == "manage.py" and os.path.isfile(script):
        return os.path.dirname(script)
    base = getattr(settings, "BASE_DIR", None)
    for d in (str(base) if base else None, os.getcwd()):
        if d and os.path.isfile(os.path.join(d, "manage.py")):
            return os.path.abspath(d)
    return None


def free_out_dir():
    """``idxadvise-out``, else ``idxadvise-out-2``, … (never a non-empty folder)."""
    n = 1
    while True:
        d = OUT_BASE if n == 1 else "%s-%d" % (OUT_BASE, n)
        if not os.path.exists(d) or (os.path.isdir(d) and not os.listdir(d)):
            return d
        n += 1


def newest_baseline():
    """The newest ``idxadvise-out*`` folder of the current folder that holds baseline.json."""
    found = []
    for d in os.listdir("."):
        if d.startswith(OUT_BASE) and os.path.isfile(os.path.join(d, "baseline.json")):
            found.append((os.path.getmtime(os.path.join(d, "baseline.json")), d))
    return max(found)[1] if found else None


class Command(BaseCommand):
    help = (
        "Index advice for this project's PostgreSQL database with the idxadvise binary: "
        "check, analyze or verify. Other arguments go to the binary."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=SUBCOMMANDS)
        parser.add_argument(
            "--database",
            help="the alias to analyse (default: the alias DATABASE_ROUTERS send reads to, else 'default')",
        )
        parser.add_argument(
            "--primary",
            help="the primary's alias, for write statistics when --database is a replica "
            "(default: the alias DATABASE_ROUTERS send writes to, when it differs)",
        )
        parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the binary")

    def warn(self, message):
        self.stderr.write("idxadvise: %s" % message)

    def handle(self, *args, **options):
        from idxadvise import BinaryNotFound, find_binary

        sub = options["subcommand"]
        rest = list(options["rest"] or [])
        database = take_option(rest, "--database") or options["database"]
        primary = take_option(rest, "--primary") or options["primary"]
        # Django has already applied these.
        take_option(rest, "--settings")
        take_option(rest, "--pythonpath")
        if has_option(rest, "--database-url", "--primary-url"):
            raise CommandError(
                "--database-url and --primary-url come from settings.DATABASES here\n"
                "(choose aliases with --database and --primary, or run the idxadvise binary directly)"
            )
        if database is None:
            routed = routed_aliases()
            if routed and routed[0] != DEFAULT_DB_ALIAS:
                database = routed[0]
                if primary is None and routed[1] != routed[0]:
                    primary = routed[1]
                self.warn(
                    "reads are routed to %r: analysing it%s (choose with --database/--primary)"
                    % (database, ", with %r as the primary" % primary if primary else "")
                )
            else:
                database = DEFAULT_DB_ALIAS
        if primary == database:
            primary = None

        env = dict(os.environ)
        env["DATABASE_URL"] = connection_url(database, self.warn)
        if primary:
            env["IDXADVISE_PRIMARY_URL"] = connection_url(primary, self.warn)
        else:
            env.pop("IDXADVISE_PRIMARY_URL", None)

        argv = [sub]
        if sub in ("analyze", "verify") and not has_option(rest, "--django-project"):
            project = project_dir()
            if project is None:
                self.warn("no manage.py found: only indexes.sql is written (give --django-project)")
            else:
                argv += ["--django-project", project]
                if not has_option(rest, "--python"):
                    argv += ["--python", sys.executable]
                module = os.environ.get("DJANGO_SETTINGS_MODULE") or getattr(
                    settings, "SETTINGS_MODULE", None
                )
                if module and not has_option(rest, "--settings"):
                    argv += ["--settings", module]
        if sub == "analyze" and not has_option(rest, "--out", "--write-into-project"):
            out = free_out_dir()
            self.warn("writing into %s (choose with --out)" % out)
            argv += ["--out", out]
        if sub == "verify" and not has_option(rest, "--baseline"):
            baseline = newest_baseline()
            if baseline is None:
                raise CommandError(
                    "no idxadvise-out folder with baseline.json here\n"
                    "(run `manage.py idxadvise analyze` first, or give --baseline DIR)"
                )
            self.warn("comparing with %s/baseline.json (choose with --baseline)" % baseline)
            argv += ["--baseline", baseline]

        try:
            binary = find_binary()
        except BinaryNotFound as e:
            raise CommandError(str(e))
        self.stdout.flush()
        self.stderr.flush()
        code = subprocess.call([binary] + argv + rest, env=env)
        if code != 0:
            sys.exit(code)
