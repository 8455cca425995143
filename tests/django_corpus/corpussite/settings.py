"""Settings for the idxadvise Django corpus project (tests/django_corpus).

The database comes from DATABASE_URL (postgres://user[:password]@host:port/dbname), the same
variable idxadvise reads. The `meta` alias is the same database with pg_stat_statements tracking
off: `capture_corpus` resets and reads pg_stat_statements through it, so the capture does not
record itself.
"""

import os
from urllib.parse import unquote, urlparse

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "idxadvise-corpus-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "accounts",
    "tracker",
]


def _database(options=None):
    url = urlparse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/corpus")
    )
    db = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(url.path.lstrip("/")),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
    }
    if options:
        db["OPTIONS"] = options
    return db


DATABASES = {
    "default": _database(),
    "meta": _database({"options": "-c pg_stat_statements.track=none"}),
}
