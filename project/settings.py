"""One plain settings module, read from environment variables (and `.env` when present)."""

import os
import re
import socket
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import quote

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from spotify.markets import markets_parse

# Lets annotations such as `admin.ModelAdmin[Artist]` run, not only type-check.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Real environment variables win over the file, so deployments can override a checked-out `.env`.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment or in .env "
            "(or DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind an HTTPS terminator, switch on secure cookies, HSTS and the HTTPS redirect together.
SECURE_DEPLOYMENT = env.bool("SECURE_DEPLOYMENT", default=False)
if SECURE_DEPLOYMENT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Our own files only: no inline script or style, no third-party script. Images come from
# Spotify's CDN (album and artist art). htmx is served from /static/ and its inline indicator
# styles are switched off (htmx.config.includeIndicatorStyles=false).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [
        CSP.SELF,
        "data:",
        "https://i.scdn.co",
        "https://*.scdn.co",
        "https://*.spotifycdn.com",
    ],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

# Brute-force protection for the admin login (django-axes): 5 failures lock that username from
# that address for 15 minutes; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind N reverse proxies REMOTE_ADDR is the nearest proxy for every client: the client is the
# N-th X-Forwarded-For entry from the right (the ones our proxies appended). 0 = REMOTE_ADDR
# only, so a client cannot spoof its address with the header. django-ipware counts the proxies
# listed in the header, which is one less than those in front of us (the nearest is REMOTE_ADDR),
# and non-strict makes it take that entry whatever the client put to its left.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER: tuple[str, ...]
if TRUSTED_PROXY_COUNT > 0:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
    IPWARE_STRICT = False
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "django_htmx",
    "django_q",
    "axes",
    "project",
    "spotify",
    "catalog",
]

MIDDLEWARE = [
    # First: every later line of the request's log, and its answer, carry the request id.
    "observability.middleware.RequestIdMiddleware",
    "observability.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "project.middleware.ContentSecurityPolicyMiddleware",
    # Above the response cache, so that cached answers and 304s get X-Frame-Options too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "project.middleware.ApiJsonErrorsMiddleware",
    "project.middleware.DatabaseUnavailableMiddleware",
    # A cached catalog answer or a 304 (the API, anonymous pages, the feed) leaves here: it needs
    # none of the middleware below and makes no query. Safe: the view reads after the data
    # version, so the bytes stored under a version are never older than it.
    "catalog.caching.ApiResponseCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # The view's several queries read one database snapshot.
    "common.middleware.ApiConsistentReadsMiddleware",
]

# `make bench` swaps in bench.urls, which adds its baseline view; nothing else should.
ROOT_URLCONF = env.str("ROOT_URLCONF", default="project.urls")
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "catalog.context_processors.site",
            ],
        },
    },
]


def _database_url() -> str:
    """DATABASE_URL wins; otherwise the POSTGRES_* names used by docker compose build it."""
    if url := str(env.str("DATABASE_URL", default="")):
        return url
    user = env.str("POSTGRES_USER", default="postgres")
    # The same local-only default as docker-compose.yml's db, so `make run` can use that one.
    password = env.str("POSTGRES_PASSWORD", default="")
    host = env.str("POSTGRES_HOST", default="127.0.0.1")
    port = env.str("POSTGRES_PORT", default="5432")
    name = env.str("POSTGRES_DB", default="spotify_releases")
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return f"postgres://{credentials}@{host}:{port}/{name}"


DATABASE_URL = _database_url()
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# Persistent connections: a request should not pay for a new PostgreSQL session.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5),
    # psycopg prepares a statement bound server-side on its 5th run on a connection, so PostgreSQL
    # stops planning it on every request (catalog.selectors' artist list; Django's own cursors
    # bind client-side and never prepare). Off behind a transaction-pooling PgBouncer < 1.21.
    "prepare_threshold": 5 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None,
}
# Lets several test runs share one PostgreSQL server without dropping each other's database.
if test_database_name := env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": test_database_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# With Redis, the cache (the data version included) and django-q2's queue are shared by every
# web and worker process, on however many machines; without it both stay local / in PostgreSQL.
REDIS_URL = env.str("REDIS_URL", default="")
# Names this deployment's keys in Redis (cache and queue): deployments, or test runs, sharing one
# Redis database would otherwise run each other's tasks and read each other's "sync queued" mark.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in for every user (staff create the accounts in the admin; there is no sign-up).
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `collectstatic` (the Docker build runs it); DEBUG serves as is.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# `line` for people, `json` (one object per line) for log collectors; tokens redacted in both.
LOG_FORMAT = env.str("LOG_FORMAT", default="line")
if LOG_FORMAT not in ("line", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be line or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {
            "()": "project.logging.OneLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s%(log_context)s %(message)s",
        },
        "json": {"()": "project.logging.JsonFormatter"},
    },
    "filters": {
        "redact_tokens": {"()": "project.logging.RedactTokensFilter"},
        "log_context": {"()": "project.logging.LogContextFilter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["redact_tokens", "log_context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's defaults give these their own stderr handlers, unfiltered: only ours, via root.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- Spotify ---------------------------------------------------------------------------------
SPOTIFY_CLIENT_ID = env.str("SPOTIFY_CLIENT_ID", default="")
SPOTIFY_CLIENT_SECRET = env.str("SPOTIFY_CLIENT_SECRET", default="")
# Without a client id the app serves the demo (the bundled fake). A production deployment must ask
# for that on purpose, so that a forgotten client id stops it instead of serving made-up releases.
DEMO_MODE = env.bool("DEMO_MODE", default=False)
if DEMO_MODE and SPOTIFY_CLIENT_ID:
    raise ImproperlyConfigured(
        "DEMO_MODE=1 and SPOTIFY_CLIENT_ID are both set. Unset SPOTIFY_CLIENT_ID to serve the "
        "demo, or DEMO_MODE to use Spotify."
    )
if SECURE_DEPLOYMENT and not SPOTIFY_CLIENT_ID and not DEMO_MODE:
    raise ImproperlyConfigured(
        "SECURE_DEPLOYMENT=1 and SPOTIFY_CLIENT_ID is not set, so this would serve the demo's "
        "made-up releases. Set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, or DEMO_MODE=1 if "
        "the demo is what you want."
    )
SPOTIFY_REDIRECT_URI = env.str(
    "SPOTIFY_REDIRECT_URI", default="http://127.0.0.1:8000/auth/callback/"
)
SPOTIFY_API_BASE_URL = env.str("SPOTIFY_API_BASE_URL", default="https://api.spotify.com/v1")
SPOTIFY_ACCOUNTS_BASE_URL = env.str(
    "SPOTIFY_ACCOUNTS_BASE_URL", default="https://accounts.spotify.com"
)
# One snapshot per market per day; empty: one snapshot of Spotify's global list. SPOTIFY_MARKET
# (one code) still works as a list of one; both set is refused.
try:
    SPOTIFY_MARKETS = markets_parse(
        markets=env.list("SPOTIFY_MARKETS", default=[]),
        single=env.str("SPOTIFY_MARKET", default=""),
    )
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None
SPOTIFY_TIMEOUT_SECONDS = env.float("SPOTIFY_TIMEOUT_SECONDS", default=10.0)
SPOTIFY_MAX_RETRY_AFTER_SECONDS = env.int("SPOTIFY_MAX_RETRY_AFTER_SECONDS", default=60)
SPOTIFY_RETRY_ATTEMPTS = env.int("SPOTIFY_RETRY_ATTEMPTS", default=3)
SPOTIFY_BACKOFF_SECONDS = env.float("SPOTIFY_BACKOFF_SECONDS", default=0.5)
# Fernet key for tokens at rest; derived from SECRET_KEY when unset. Comma-separated for rotation:
# the first key encrypts, every key decrypts.
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])

# --- Sync ------------------------------------------------------------------------------------
ARTIST_DETAILS_TTL_DAYS = env.int("ARTIST_DETAILS_TTL_DAYS", default=7)
# When Spotify refuses /albums?ids=, track lists cost one call per release: this many per run.
TRACKS_PER_RUN_FALLBACK_LIMIT = env.int("TRACKS_PER_RUN_FALLBACK_LIMIT", default=50)
SYNC_INTERVAL_MINUTES = env.int("SYNC_INTERVAL_MINUTES", default=60)
# Development Mode (2026) fallbacks: search pages when /browse/new-releases is refused, and
# /artists/{id} one by one, at most this many per run, when /artists?ids= is.
SEARCH_FALLBACK_MAX_ALBUMS = env.int("SEARCH_FALLBACK_MAX_ALBUMS", default=100)
ARTIST_FALLBACK_CALLS_PER_RUN = env.int("ARTIST_FALLBACK_CALLS_PER_RUN", default=50)
FORBIDDEN_ENDPOINT_MEMORY_HOURS = env.float("FORBIDDEN_ENDPOINT_MEMORY_HOURS", default=24)
# Your artists: how often a connected user's followed-artist list is read again; how often each
# followed artist's releases should be checked; and the most artist-albums calls one sync makes.
FOLLOWING_REFRESH_HOURS = env.float("FOLLOWING_REFRESH_HOURS", default=24)
FOLLOWED_ARTIST_CHECK_HOURS = env.float("FOLLOWED_ARTIST_CHECK_HOURS", default=24)
ARTIST_ALBUMS_CALLS_PER_RUN = env.int("ARTIST_ALBUMS_CALLS_PER_RUN", default=300)
# Housekeeping removes snapshots older than this many days (0 keeps them all), with the releases,
# tracks and artists that only they referenced.
SNAPSHOT_RETENTION_DAYS = env.int("SNAPSHOT_RETENTION_DAYS", default=365)
if SNAPSHOT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("SNAPSHOT_RETENTION_DAYS must be 0 (keep all) or a number of days")

# --- django-q2: the queue is in PostgreSQL next to the data, or in Redis with REDIS_URL --------
Q_CLUSTER = {
    # The queue's Redis key and the tasks' signing salt: another prefix's tasks are not ours.
    "name": f"{REDIS_KEY_PREFIX}:spotify-new-releases"
    if REDIS_KEY_PREFIX
    else "spotify-new-releases",
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT_SECONDS", default=900),
    "retry": env.int("Q_RETRY_SECONDS", default=960),
    "max_attempts": 1,
    "catch_up": False,
    "sync": env.bool("Q_SYNC", default=False),
    "label": "Task queue",
}

# --- API -------------------------------------------------------------------------------------
NINJA_PAGINATION_MAX_LIMIT = 200
# Catalog GETs: clients may reuse an answer this long; ETags keep revalidation cheap after that.
API_CACHE_MAX_AGE = env.int("API_CACHE_MAX_AGE", default=60)
# Server-side cache of catalog answers, keyed on the data version (off only to benchmark).
API_RESPONSE_CACHE = env.bool("API_RESPONSE_CACHE", default=True)
API_RESPONSE_CACHE_SECONDS = env.int("API_RESPONSE_CACHE_SECONDS", default=3600)
# At most this many answers stored per data version: junk or endless valid queries cannot flood it.
API_RESPONSE_CACHE_MAX_ENTRIES = env.int("API_RESPONSE_CACHE_MAX_ENTRIES", default=500)
# How stale a process's copy of the data version may be when the sync runs in another process
# and the cache is per-process (local memory); with Redis a sync's commit is seen at once.
API_DATA_VERSION_TTL_SECONDS = env.int("API_DATA_VERSION_TTL_SECONDS", default=5)

# --- Webhooks --------------------------------------------------------------------------------
# Off in production: endpoints on loopback, private or link-local addresses are refused.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
# A deadline for the whole attempt: connect, send and read, however slowly the receiver drips.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
# Delays before the next attempts (scheduled, never slept): base, 2 x base, 4 x base...
WEBHOOK_BACKOFF_SECONDS = env.float("WEBHOOK_BACKOFF_SECONDS", default=2.0)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=10)

# --- Notifications (Apprise) -----------------------------------------------------------------
# Absolute links in messages (the dashboard's "and N more") start with this.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Site-wide targets, set by the operator and so trusted (private addresses allowed): Apprise URLs
# separated by spaces or commas.
NOTIFY_URLS = [url for url in re.split(r"[\s,]+", env.str("NOTIFY_URLS", default="")) if url]
# Off in production: per-user targets on loopback, private or link-local addresses are refused.
NOTIFY_ALLOW_PRIVATE = env.bool("NOTIFY_ALLOW_PRIVATE", default=False)
# sync: one message per sync that brought new releases; daily or weekly: a digest at
# NOTIFY_DIGEST_TIME (TIME_ZONE), weekly ones on Mondays. Per-user targets may choose their own.
NOTIFY_DIGEST = env.str("NOTIFY_DIGEST", default="sync")
if NOTIFY_DIGEST not in ("sync", "daily", "weekly"):
    raise ImproperlyConfigured("NOTIFY_DIGEST must be sync, daily or weekly")
NOTIFY_DIGEST_TIME = env.str("NOTIFY_DIGEST_TIME", default="09:00")
if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", NOTIFY_DIGEST_TIME):
    raise ImproperlyConfigured("NOTIFY_DIGEST_TIME must be HH:MM (24-hour clock)")
NOTIFY_TIMEOUT_SECONDS = env.float("NOTIFY_TIMEOUT_SECONDS", default=10.0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
# Delays before the next attempts (scheduled, never slept): base, 2 x base, 4 x base...
NOTIFY_BACKOFF_SECONDS = env.float("NOTIFY_BACKOFF_SECONDS", default=30.0)
# Failed attempts in a row that pause a target until staff resume it.
NOTIFY_PAUSE_AFTER_FAILURES = env.int("NOTIFY_PAUSE_AFTER_FAILURES", default=10)

# --- Operations ------------------------------------------------------------------------------
# GET /metrics (Prometheus) answers a bearer METRICS_TOKEN or a client address (as django-axes
# sees it) in METRICS_ALLOWED_IPS (addresses or networks); anyone else gets 403.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _entry in METRICS_ALLOWED_IPS:
    try:
        ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_entry!r} is not an address or network"
        ) from None
# One directory shared by every web and worker process (a volume shared by the containers): each
# host writes its counters into its own subdirectory (pids repeat across containers), and
# /metrics sums them all, so a worker's Spotify calls show on every web replica's /metrics.
METRICS_DIR = env.str("METRICS_DIR", default="")
if METRICS_DIR:
    # prometheus-client's multiprocess mode, which it reads from the environment on import.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(Path(METRICS_DIR) / socket.gethostname())
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
# Errors to Sentry when set; needs the `sentry` extra (pip install ".[sentry]").
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from project.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))
