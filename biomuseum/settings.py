"""BioMuseum settings: one module, every environment difference is a variable.

`.env.example` lists every variable; the README's configuration table explains them.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local `.env` (written by `make run`) fills in what the real environment leaves unset.
ENV_FILE = Path(env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    env.read_env(str(ENV_FILE), overwrite=False)

# --- Core ---
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-only-key"  # noqa: S105 - only ever used with DEBUG on
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"
RELEASE = env.str("RELEASE", default="dev")
# Where the public reaches the site: links in emails, and the host cache warming renders pages for.
# Default: the address gunicorn.conf.py binds (HOST, PORT), so links in mail follow `PORT=8765 make run`.
_host = env.str("HOST", default="127.0.0.1")
_served_at = f"http://{'127.0.0.1' if _host in ('0.0.0.0', '::', '[::]') else _host}:{env.str('PORT', default='8000')}"
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=_served_at).rstrip("/")
# The public frontend, where the admin's "View site" and "View on site" lead; unset, the admin shows neither.
# A record's page is FRONTEND_URL followed by its path ({slug} filled in).
FRONTEND_URL = env.str("FRONTEND_URL", default="").rstrip("/")
FRONTEND_ORGANISM_PATH = env.str("FRONTEND_ORGANISM_PATH", default="/organisms/{slug}/")
FRONTEND_POST_PATH = env.str("FRONTEND_POST_PATH", default="/posts/{slug}/")
# The admin's Preview button opens this with {type} (organism, post), {slug} and {token}; unset, the API's
# record with ?preview=<token>. A token shows one record for PREVIEW_TOKEN_MAX_AGE seconds.
FRONTEND_PREVIEW_URL = env.str("FRONTEND_PREVIEW_URL", default="")
PREVIEW_TOKEN_MAX_AGE = env.int("PREVIEW_TOKEN_MAX_AGE", default=3600)
# Hosts whose images a post body may show (besides this site and MEDIA_URL's host): others are dropped.
POST_IMAGE_HOSTS = env.list("POST_IMAGE_HOSTS", default=[])
ENVIRONMENT = env.str("ENVIRONMENT", default="development" if DEBUG else "production")

INSTALLED_APPS = [
    "biomuseum.apps.BioMuseumConfig",  # first: its admin templates override the admin's own
    "biomuseum.apps.CuratorsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "organisms",
    "blogs",
    "ops",
]

MIDDLEWARE = [
    "ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "biomuseum.securityheaders.SecurityHeadersMiddleware",
    "biomuseum.charsets.FormCharsetMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # revisions know the signed-in user
    "biomuseum.revisions.RevisionChannelMiddleware",  # and that they came through the admin or the API
    "biomuseum.pagecache.PrivateAPIResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Tests point a real gunicorn at a URLconf with test-only views (tests/urls_ops.py); production never sets it.
ROOT_URLCONF = env.str("DJANGO_ROOT_URLCONF", default="biomuseum.urls")
WSGI_APPLICATION = "biomuseum.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database ---
# SQLite under var/ by default; PostgreSQL through DATABASE_URL with Django's native psycopg pool.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'biomuseum.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection reuse
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
        # How long a request waits for a connection: when the database is gone, the answer is a 503
        # after this long, not a hang.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=2.0),
    }
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2))
else:
    # The web server and a Celery worker write to the same file. A transaction that begins as a read and then
    # writes cannot wait for another writer (SQLite answers "database is locked" at once): begin each one
    # as a writer, so the busy timeout applies; WAL lets reads go on while one writes.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("timeout", 20)
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
    VAR_DIR.mkdir(exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ---
# Redis through django-redis when REDIS_URL is set; a cache outage must never become an API outage.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.25),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.25),
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"max_connections": env.int("REDIS_MAX_CONNECTIONS", default=50)},
            },
            "KEY_PREFIX": "bm",
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "biomuseum"}}

# --- Jobs ---
# Celery on Redis. Without Redis, `make run` (CELERY_EMBEDDED_BROKER=1) uses kombu's filesystem transport
# (`filesystem://`, messages as files under CELERY_BROKER_FOLDER): a real worker and scheduler with no server
# to install. With no broker at all, tasks run in-process (eagerly).
_embedded_broker = "filesystem://" if env.bool("CELERY_EMBEDDED_BROKER", default=False) else ""
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or _embedded_broker)
CELERY_BROKER_FOLDER = env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker"))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # the database row is each job's truth; no result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # a killed worker's task goes back to the queue
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "organisms.process_image": {"queue": "images"},
    "blogs.process_cover": {"queue": "images"},
    "blogs.send_confirmation": {"queue": "email"},
    "blogs.send_deliveries": {"queue": "email"},
    "blogs.notify_subscribers": {"queue": "email"},
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task (its worker died) is delivered again after this long; it must exceed the
    # longest hard time limit, or a slow task would run twice.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "biomuseum.brokerfiles:Transport"  # messages appear whole or not at all
    for _folder in ("in", "processed"):
        Path(CELERY_BROKER_FOLDER, _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(Path(CELERY_BROKER_FOLDER, "in")),
        "data_folder_out": str(Path(CELERY_BROKER_FOLDER, "in")),
        "processed_folder": str(Path(CELERY_BROKER_FOLDER, "processed")),
        "store_processed": False,
    }
IMAGE_TASK_SOFT_TIME_LIMIT = env.int("IMAGE_TASK_SOFT_TIME_LIMIT", default=240)
IMAGE_MAX_ATTEMPTS = env.int("IMAGE_MAX_ATTEMPTS", default=5)
IMAGE_PENDING_GRACE = env.int("IMAGE_PENDING_GRACE", default=120)  # seconds before the sweeper re-queues
IMAGE_STUCK_AFTER = env.int("IMAGE_STUCK_AFTER", default=600)  # a "processing" job older than this died
# Checklist imports from the admin (organisms.darwincore): the upload's size, and the job's limits.
DWCA_MAX_UPLOAD_BYTES = env.int("DWCA_MAX_UPLOAD_BYTES", default=512 * 1024**2)
# seconds for the check or the import; under CELERY_VISIBILITY_TIMEOUT, or the broker hands a live one out again
DWCA_IMPORT_TIME_LIMIT = env.int("DWCA_IMPORT_TIME_LIMIT", default=780)
DWCA_IMPORT_PENDING_GRACE = env.int("DWCA_IMPORT_PENDING_GRACE", default=120)  # before the sweeper re-queues
DWCA_IMPORT_STUCK_AFTER = env.int("DWCA_IMPORT_STUCK_AFTER", default=DWCA_IMPORT_TIME_LIMIT + 120)
DWCA_IMPORT_MAX_ATTEMPTS = env.int("DWCA_IMPORT_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE = {
    "cleanup-hourly": {"task": "ops.cleanup", "schedule": 3600.0},
    "warm-cache": {"task": "ops.warm_cache", "schedule": env.float("WARM_CACHE_EVERY", default=900.0)},
    "sweep-images": {"task": "organisms.sweep_images", "schedule": 60.0},
    "sweep-covers": {"task": "blogs.sweep_covers", "schedule": 60.0},
    "sweep-imports": {"task": "organisms.sweep_imports", "schedule": 60.0},
    "notify-due-posts": {"task": "blogs.notify_due_posts", "schedule": env.float("NOTIFY_DUE_EVERY", default=60.0)},
}

# --- Auth ---
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Also what clears a one-time password's "must change" mark, whichever way the password changes.
    {"NAME": "biomuseum.passwordchange.OneTimePasswordValidator"},
]
LOGIN_URL = f"/{ADMIN_URL}login/"
API_TOKEN_MAX_AGE_DAYS = env.int("API_TOKEN_MAX_AGE_DAYS", default=90)

# --- Internationalization ---
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The languages the catalogue answers common names in (BCP 47 tags, `lang` and Accept-Language choose among
# them), and the one an organism's own `common_name` is written in, which every other falls back to.
CATALOGUE_DEFAULT_LANGUAGE = env.str("CATALOGUE_DEFAULT_LANGUAGE", default="en")
CATALOGUE_LANGUAGES = env.list(
    "CATALOGUE_LANGUAGES", default=["en", "fr", "es", "de", "it", "nl", "pt", "pt-BR", "ja", "zh", "mi"]
)

# --- Static and media files ---
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
# Files whitenoise serves at the site's root: /favicon.ico, which browsers ask for on every page they show.
WHITENOISE_ROOT = BASE_DIR / "biomuseum" / "public"
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
# Where browsers fetch media from when not from this site (a CDN): the API's image URLs start with it.
MEDIA_BASE_URL = env.str("MEDIA_BASE_URL", default="")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Serve MEDIA_ROOT from Django itself: right for `make run`, wrong behind a CDN or object storage.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Request limits ---
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=200)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=5)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
IMAGE_UPLOAD_MAX_BYTES = env.int("IMAGE_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
IMAGE_UPLOAD_MAX_PIXELS = env.int("IMAGE_UPLOAD_MAX_PIXELS", default=50_000_000)
IMAGE_UPLOAD_MAX_SIDE = env.int("IMAGE_UPLOAD_MAX_SIDE", default=20_000)

# --- Security ---
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False) else None
)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# A frontend's dev server on this machine (any port) works out of the box when debugging, and only then.
CORS_ALLOWED_ORIGIN_REGEXES = (
    [r"^http://(localhost|127\.0\.0\.1|\[::1\]):\d+$"] if DEBUG and not CORS_ALLOWED_ORIGINS else []
)
CORS_URLS_REGEX = r"^/(api|media/renditions)/.*$"  # renditions too: a frontend may draw them on a canvas
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
OPS_TOKEN = env.str("OPS_TOKEN", default="")
CSRF_FAILURE_VIEW = "biomuseum.errors.csrf_failure"

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "biomuseum.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["biomuseum.permissions.StaffModelPermissionsOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": ["biomuseum.throttles.PublicReadThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["biomuseum.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "biomuseum.parsers.JSONParser",
        "biomuseum.parsers.MultiPartParser",
        "biomuseum.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": None,
    "EXCEPTION_HANDLER": "biomuseum.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "biomuseum.openapi.AutoSchema",
    "URL_FORMAT_OVERRIDE": None,
}
API_PAGE_SIZE = 20
API_MAX_PAGE_SIZE = 100
SPECTACULAR_SETTINGS = {
    "TITLE": "BioMuseum API",
    "DESCRIPTION": "Organisms and blog posts of the museum's collection.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"TaxonomicStatusEnum": "organisms.models.TaxonomicStatus"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "biomuseum.openapi.add_error_responses",
    ],
}

# --- Email ---
# SMTP from EMAIL_URL (smtp://user:pass@host:587, smtp+tls://, smtp+ssl://) or EMAIL_HOST/EMAIL_PORT/...;
# with neither, each message is written as a .eml file under EMAIL_FILE_PATH (var/mail/; embedded defaults).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
else:
    EMAIL_BACKEND = "biomuseum.mailfiles.EmlFileBackend"
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BioMuseum <newsletter@biomuseum.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BATCH_SIZE = env.int("EMAIL_BATCH_SIZE", default=100)
EMAIL_CLAIM_TIMEOUT = env.int("EMAIL_CLAIM_TIMEOUT", default=600)
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)  # then a delivery is marked failed
SUBSCRIPTION_CONFIRM_MAX_AGE = env.int("SUBSCRIPTION_CONFIRM_MAX_AGE", default=3 * 86400)
NOTIFY_WINDOW = env.int("NOTIFY_WINDOW", default=2 * 86400)  # older posts are never announced late
POST_URL_TEMPLATE = env.str("POST_URL_TEMPLATE", default="{base}/api/v1/posts/{slug}/")

# --- Rate limits ---
# The policy table lives in biomuseum/ratelimits.py; the rates are here so each is an environment variable.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = False  # each policy decides; see biomuseum/ratelimits.py
RATELIMIT_IP_META_KEY = "biomuseum.clientip.client_ip"
RATELIMIT_IPV4_MASK = 32
RATELIMIT_IPV6_MASK = 64
RATELIMITS = {
    "public-read": tuple(env.list("RATELIMIT_PUBLIC_READ", default=["600/m", "12000/h"])),
    "login-ip": tuple(env.list("RATELIMIT_LOGIN_IP", default=["20/m", "200/h"])),
    "login-username": tuple(env.list("RATELIMIT_LOGIN_USERNAME", default=["5/m", "30/h"])),
    "login-account": tuple(env.list("RATELIMIT_LOGIN_ACCOUNT", default=["100/h"])),
    "ops-token": tuple(env.list("RATELIMIT_OPS_TOKEN", default=["60/m"])),
    "staff-write": tuple(env.list("RATELIMIT_STAFF_WRITE", default=["120/m"])),
    "subscribe-ip": tuple(env.list("RATELIMIT_SUBSCRIBE_IP", default=["10/h"])),
    "subscribe-address": tuple(env.list("RATELIMIT_SUBSCRIBE_ADDRESS", default=["3/h"])),
    "subscription-link": tuple(env.list("RATELIMIT_SUBSCRIPTION_LINK", default=["20/m", "200/h"])),
}

# --- Darwin Core ---
# The museum named in the published catalogue's Darwin Core Archive (eml.xml), and where the public endpoint
# keeps the archive it built for the current catalogue (one file per generation; never a public media path).
MUSEUM_NAME = env.str("MUSEUM_NAME", default="BioMuseum")
DWCA_EXPORT_DIR = env.path("DWCA_EXPORT_DIR", default=str(VAR_DIR / "exports"))

# --- Page cache ---
# Whole public API responses, invalidated by per-content-type generations bumped after every commit.
PAGE_CACHE_ENABLED = env.bool("PAGE_CACHE_ENABLED", default=True)
PAGE_CACHE_TIMEOUT = env.int("PAGE_CACHE_TIMEOUT", default=3600)
PAGE_CACHE_MAX_AGE = env.int("PAGE_CACHE_MAX_AGE", default=30)
PAGE_CACHE_STALE_WHILE_REVALIDATE = env.int("PAGE_CACHE_STALE_WHILE_REVALIDATE", default=30)
PAGE_CACHE_STALE_IF_ERROR = env.int("PAGE_CACHE_STALE_IF_ERROR", default=600)
PAGE_CACHE_LOCK_WAIT = env.float("PAGE_CACHE_LOCK_WAIT", default=2.0)
PAGE_CACHE_OUTAGE_BACKOFF = env.float("PAGE_CACHE_OUTAGE_BACKOFF", default=5.0)
# On Redis, pages each web process keeps in memory (a hit then needs no round trip; see biomuseum/pagecache/local.py).
# 0 turns the local copies off.
PAGE_CACHE_LOCAL_ENTRIES = env.int("PAGE_CACHE_LOCAL_ENTRIES", default=500)
# A process that served no page for this long stops following bumps (and starts again on its next page).
PAGE_CACHE_WATCH_IDLE_EXIT = env.float("PAGE_CACHE_WATCH_IDLE_EXIT", default=60.0)
# Without Redis, the generation tokens live in a memory-mapped file that every process on this machine
# maps (web, worker, beat, manage.py): beside a SQLite database file, else under var/.
_sqlite_file = DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] != ":memory:"
PAGE_CACHE_GENERATIONS_FILE = env.str(
    "PAGE_CACHE_GENERATIONS_FILE",
    default=f"{DATABASES['default']['NAME']}.generations" if _sqlite_file else str(VAR_DIR / "pagecache.generations"),
)
GZIP_MIN_BYTES = 1024

# --- Ops ---
# Probes, pool statistics, metrics, error reporting (README: "Operating BioMuseum").
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, not {LOG_FORMAT!r}.")
# Each readiness check (database, cache, broker; run at once) and each broker read stops waiting after this.
OPS_CHECK_TIMEOUT = env.float("OPS_CHECK_TIMEOUT", default=0.5)
OPS_CELERY_PING_TIMEOUT = env.float("OPS_CELERY_PING_TIMEOUT", default=0.5)
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_SEND_DEFAULT_PII = env.bool("SENTRY_SEND_DEFAULT_PII", default=False)
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from ops.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        release=RELEASE,
        environment=ENVIRONMENT,
        send_default_pii=SENTRY_SEND_DEFAULT_PII,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- Logging ---
# One line per record on stdout: JSON (LOG_FORMAT=json, the default without DEBUG) or console lines.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()  # gunicorn takes "info"; logging wants "INFO"
LOG_BATCH_SECONDS = env.float("LOG_BATCH_SECONDS", default=0.0)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ops.logs.JsonFormatter"},
        "console": {"()": "ops.logs.ConsoleFormatter"},
    },
    "filters": {"error_ids": {"()": "biomuseum.errorids.ErrorIdLogFilter"}},
    "handlers": {
        "stdout": {
            "class": "ops.logs.BatchingStreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "interval": LOG_BATCH_SECONDS,  # gunicorn.conf.py: 0.05; elsewhere 0, every line at once
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # ops.wsgi writes one access line per request; these would repeat it.
        "django.server": {"level": "WARNING"},
        # 4xx answers are in the access line; a 5xx keeps Django's line with its traceback, plus the error id.
        "django.request": {"level": "ERROR", "filters": ["error_ids"]},
    },
}
