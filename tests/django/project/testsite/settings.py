"""Settings of the test site: ``startproject``'s defaults, then the seed README's steps.

The database is SQLite (in memory unless ``TESTSITE_DB`` names a file), the
cache locmem and mail locmem, so nothing outside the test's own folders is
touched.
"""

import os

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "testsite.urls"

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

WSGI_APPLICATION = "testsite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TESTSITE_DB", ":memory:"),
    }
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ADMINS = [("Ops", "ops@example.com"), ("On call", "oncall@example.com")]
SERVER_EMAIL = "autoscalebot@example.com"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---- the seed README's "If you are using django" steps, as written ----

# 2. Required settings, with the AUTOSCALE_ prefix (the seed's example values).
AUTOSCALE_HEROKU_APP_NAME = "my-app-name"
AUTOSCALE_HEROKU_API_KEY = "1234567890abcdef1234567890abcdef"
# Optional tuning, in the seed's forms.
AUTOSCALE_MAX_DYNOS = {"0:00": 2, "9:00": 5, "17:00": 2}
AUTOSCALE_MIN_DYNOS = 1
AUTOSCALE_NOTIFICATION_BACKENDS = [
    "autoscalebot.backends.notification.DjangoEmailBackend",
]

# 3. The built-in test view.
INSTALLED_APPS += ("autoscalebot",)
