"""Settings for the idxadvise example shop.

The database comes from DATABASE_URL (postgres://user[:password]@host:port/dbname), the same
variable idxadvise reads.
"""

import os
from urllib.parse import unquote, urlparse

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "idxadvise-example-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "shop",
]


def _database():
    url = urlparse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop")
    )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(url.path.lstrip("/")),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
    }


DATABASES = {"default": _database()}
