"""Django settings for Bizloom, read from environment variables.

Defaults are safe for production: DEBUG is off and a secret key is required. `make run`
(through `bizloom run`) supplies a generated key and plain-HTTP cookies for a local
installation; see docs/configuration.md for every variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("BIZLOOM_VAR_DIR", PROJECT_DIR / "var"))

DEBUG = env_bool("BIZLOOM_DEBUG", False)
TESTING = env_bool("BIZLOOM_TESTING", False)

SECRET_KEY = os.environ.get("BIZLOOM_SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "BIZLOOM_SECRET_KEY is required when BIZLOOM_DEBUG is off (`make run` generates one under var/)."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("BIZLOOM_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("BIZLOOM_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "bizloom.common",
    "bizloom.platform",
    "bizloom.platform.audit",
    "bizloom.platform.events",
    "bizloom.platform.notifications",
    "bizloom.platform.timeline",
    "bizloom.platform.numbering",
    "bizloom.platform.customfields",
    "bizloom.platform.exportjobs",
    "bizloom.crm",
    "bizloom.integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bizloom.platform.middleware_context.RequestContextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bizloom.platform.org.middleware.ViewAsMiddleware",
    "bizloom.platform.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "bizloom.urls"
WSGI_APPLICATION = "bizloom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bizloom.platform.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite is the embedded default. WAL lets readers run beside the one writer, IMMEDIATE
# transactions take the write lock up front (no "database is locked" upgrade failures),
# and the busy timeout makes concurrent writers wait instead of failing.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bizloom.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("BIZLOOM_DB_CONN_MAX_AGE", "60")))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("BIZLOOM_TEST_SQLITE", "")} if os.environ.get(
        "BIZLOOM_TEST_SQLITE"
    ) else {}
else:
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("BIZLOOM_TEST_DB_NAME", "test_bizloom")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity ---------------------------------------------------------------------------
AUTH_USER_MODEL = "platform.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Hashing cost is not what the tests measure; argon2 would dominate their run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("BIZLOOM_LANGUAGE", "en")
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("BIZLOOM_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True
LANGUAGE_COOKIE_NAME = "bizloom_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
COMPANY_CURRENCY = os.environ.get("BIZLOOM_CURRENCY", "CNY")

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = PROJECT_DIR / "node_modules"
# Front-end libraries come from npm (package.json + lockfile); only these files are served.
VENDOR_STATIC_FILES = {
    "vendor/htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "vendor/sortablejs/Sortable.min.js": "sortablejs/Sortable.min.js",
    "vendor/echarts/echarts.min.js": "echarts/dist/echarts.min.js",
}
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "bizloom.platform.staticfinders.VendorFinder",
]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ---------------------------------------------------------------------------
# BIZLOOM_HTTPS=false is for a local installation reached over plain http (make run).
HTTPS = env_bool("BIZLOOM_HTTPS", not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("BIZLOOM_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BIZLOOM_BEHIND_PROXY", False) else None
SECURE_HSTS_SECONDS = int(os.environ.get("BIZLOOM_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 14 * 24 * 3600
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("BIZLOOM_MAX_BODY_BYTES", str(5 * 1024 * 1024)))

# --- Background work --------------------------------------------------------------------
# "database" (default) keeps the queue in the main database; "rq" moves it to Redis
# (docs/tasks.md); "immediate" runs tasks inline and is used by the test-suite.
TASK_BACKEND = os.environ.get("BIZLOOM_TASK_BACKEND", "immediate" if TESTING else "database")
_TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "scheduled"]},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "scheduled"]},
    "immediate": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "scheduled"]},
}
if TASK_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"BIZLOOM_TASK_BACKEND must be one of {', '.join(_TASK_BACKENDS)}")
TASKS = {"default": _TASK_BACKENDS[TASK_BACKEND]}
if TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    RQ_QUEUES = {name: {"URL": REDIS_URL} for name in ("default", "scheduled")}

# --- Mail -------------------------------------------------------------------------------
EMAIL_HOST = os.environ.get("BIZLOOM_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("BIZLOOM_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("BIZLOOM_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("BIZLOOM_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("BIZLOOM_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("BIZLOOM_EMAIL_FROM", "bizloom@localhost")
EMAIL_BACKEND = os.environ.get("BIZLOOM_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

# --- Attachments ------------------------------------------------------------------------
# Files are served only through the access-checked download view; there is no MEDIA_URL.
BIZLOOM_ATTACHMENT_MAX_BYTES = int(os.environ.get("BIZLOOM_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
# Makes links in e-mails absolute, e.g. https://crm.example.com
BIZLOOM_SITE_URL = os.environ.get("BIZLOOM_SITE_URL", "")

# --- Exports ----------------------------------------------------------------------------
# Lists longer than this export in the worker (the user is notified when the file is ready).
BIZLOOM_EXPORT_INLINE_MAX_ROWS = int(os.environ.get("BIZLOOM_EXPORT_INLINE_MAX_ROWS", "5000"))
BIZLOOM_EXPORT_RETENTION_HOURS = int(os.environ.get("BIZLOOM_EXPORT_RETENTION_HOURS", "24"))
BIZLOOM_EXPORT_MAX_ACTIVE_JOBS = int(os.environ.get("BIZLOOM_EXPORT_MAX_ACTIVE_JOBS", "3"))

# --- API --------------------------------------------------------------------------------
API_MAX_PAGE_SIZE = 200
API_DEFAULT_PAGE_SIZE = 50
API_TOKEN_DEFAULT_DAYS = 90

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BIZLOOM_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per task run drowns everything else in `make run`'s output.
        "django_tasks": {"level": os.environ.get("BIZLOOM_TASK_LOG_LEVEL", "WARNING")},
        "django_tasks_db": {"level": os.environ.get("BIZLOOM_TASK_LOG_LEVEL", "WARNING")},
        "bizloom.security": {"level": "INFO"},
    },
}

SITE_NAME = _("Bizloom")
