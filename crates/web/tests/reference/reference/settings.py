"""One settings module for the three processes of the reference federation; the environment says which one this is.

SPORTELLO_REFERENCE_ROLE    "anchor" (trust anchor: the `authority` app), "spid" or "cie" (an OpenID provider
                            of that profile: the `provider` app)
SPORTELLO_REFERENCE_DB      the SQLite file of this process (the test makes a fresh one per run)
SPORTELLO_REFERENCE_ANCHOR  the trust anchor's entity identifier (the providers trust it)
SPORTELLO_REFERENCE_REQUIRED_TRUST_MARKS
                            trust mark ids a relying party must show to a provider, comma-separated (optional)
"""
import os

import aiohttp

ROLE = os.environ.get("SPORTELLO_REFERENCE_ROLE", "anchor")
if ROLE not in ("anchor", "spid", "cie"):
    raise RuntimeError(f"SPORTELLO_REFERENCE_ROLE is anchor, spid or cie, not {ROLE!r}")

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A throwaway key: these processes live for one test on loopback.
SECRET_KEY = "sportello-reference-federation-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "spid_cie_oidc.entity",
]
if ROLE == "anchor":
    INSTALLED_APPS.append("spid_cie_oidc.authority")
else:
    INSTALLED_APPS += ["spid_cie_oidc.provider", "reference"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "reference.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(BASE_DIR, "reference", "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SPORTELLO_REFERENCE_DB", os.path.join(BASE_DIR, f"{ROLE}.sqlite3")),
    }
}
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LANGUAGE_CODE = "it-it"
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"

# All three share 127.0.0.1, and cookies do not tell ports apart: each process has cookies of its own.
SESSION_COOKIE_NAME = f"{ROLE}_sessionid"
CSRF_COOKIE_NAME = f"{ROLE}_csrftoken"

# Statements are fetched with aiohttp; its `ssl` option only applies to https:// URLs, so the loopback
# federation is reached over plain HTTP.
HTTPC_TIMEOUT = 8
HTTPC_PARAMS = {
    "connection": {"ssl": True},
    "session": {"timeout": aiohttp.ClientTimeout(total=HTTPC_TIMEOUT)},
}

ANCHOR = os.environ.get("SPORTELLO_REFERENCE_ANCHOR", "")
OIDCFED_TRUST_ANCHORS = [ANCHOR] if ANCHOR else []
OIDCFED_DEFAULT_TRUST_ANCHOR = ANCHOR
OIDCFED_REQUIRED_TRUST_MARKS = [
    mark for mark in os.environ.get("SPORTELLO_REFERENCE_REQUIRED_TRUST_MARKS", "").split(",") if mark
]

if ROLE != "anchor":
    OIDCFED_DEFAULT_PROVIDER_PROFILE = ROLE
    OIDCFED_PROVIDER_PROFILE = ROLE
    OIDCFED_PROVIDER_SALT = f"sportello-reference-{ROLE}"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "spid_cie_oidc": {"handlers": ["stderr"], "level": "DEBUG", "propagate": False},
        "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
