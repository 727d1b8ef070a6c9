"""Settings, read from the environment.

Every setting has a safe development default except ``SECRET_KEY`` in production,
where a missing key stops the application from starting.

Environment variables:

``SKILLCERT_ENV``            ``development`` (default), ``production`` or ``testing``
``SECRET_KEY``               signs sessions and CSRF tokens; required in production
``DATABASE_URL``             SQLAlchemy URL; ``postgresql://…`` uses psycopg 3;
                             default: SQLite in ``instance/skillcert.db``
``RATELIMIT_STORAGE_URI``    ``memory://`` (default) or ``redis://host:6379/0`` when
                             several app servers share one limit
``DATABASE_PING_AFTER_IDLE_SECONDS``  pooled connections idle this long are tested before use (10)
``PUBLIC_BASE_URL``          absolute base of public links (certificate QR codes)
``SKILLCERT_KEYS_DIR``       where organisations' private signing keys live
                             (default ``instance/keys``)
``EXAM_SAVE_GRACE_SECONDS``  saves accepted this long after an exam's deadline (network delay; 10)
``EXAM_START_SLOTS``         exam starts prepared at once per app server (default: one fewer
                             than ``WEB_CONCURRENCY``, at least 1; 0 admits everyone at once)
``EXAM_STATUS_POLL_SECONDS`` how often an idle exam page asks for extensions and ends (30)
``BOARD_POLL_SECONDS``       how often the proctors' live board refreshes (4)
``CERTIFICATE_VERIFY_RATE_LIMIT`` etc.  limits of the public verification pages (Flask-Limiter syntax)
``SCORING_WORKDAYS_FILE``    a YAML calendar of public holidays and make-up working days
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _development_secret(instance_path: Path) -> str:
    """Generate a secret once and keep it in ``instance/``, readable by the owner only."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_config(instance_path: Path, overrides: dict | None = None) -> dict:
    """Build the Flask configuration mapping from the environment and ``overrides``."""
    overrides = dict(overrides or {})
    env = overrides.get("ENV_NAME") or os.environ.get("SKILLCERT_ENV", "development")
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"SKILLCERT_ENV must be development, production or testing, not {env!r}")
    production = env == "production"

    secret = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production it must come from the environment, "
                "e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        secret = "testing-secret" if env == "testing" else _development_secret(instance_path)

    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    if not database_url:
        if production:
            raise ConfigError("DATABASE_URL is not set; production needs PostgreSQL, e.g. "
                              "DATABASE_URL=postgresql://skillcert@db.internal/skillcert")
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'skillcert.db'}"

    config = {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # Connections idle for a while are tested before use (exam.ping_idle_connections);
        # busy ones are not: a ping on every request is a round trip the autosave cannot afford.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 3600},
        "DATABASE_PING_AFTER_IDLE_SECONDS": int(os.environ.get("DATABASE_PING_AFTER_IDLE_SECONDS", "10")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Uploads: question-bank files are the largest legitimate requests.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)),
        "PHOTO_MAX_BYTES": 2 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "DISPLAY_TIMEZONE": os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": {"zh": "简体中文", "en": "English"},
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Checked by our limits' exempt_when (Flask-Limiter's own switch is process-wide).
        "RATE_LIMITS_ON": _env_bool("RATE_LIMITS_ON", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "KEYS_DIR": os.environ.get("SKILLCERT_KEYS_DIR", str(instance_path / "keys")),
        # Behind a load balancer that sets X-Forwarded-For / -Proto (number of proxies).
        "PROXY_FIX_HOPS": int(os.environ.get("PROXY_FIX_HOPS", "0")),
        "EXAM_SAVE_GRACE_SECONDS": int(os.environ.get("EXAM_SAVE_GRACE_SECONDS", "10")),
        "EXAM_STATUS_POLL_SECONDS": int(os.environ.get("EXAM_STATUS_POLL_SECONDS", "30")),
        "BOARD_POLL_SECONDS": int(os.environ.get("BOARD_POLL_SECONDS", "4")),
        "CERTIFICATE_VERIFY_RATE_LIMIT": os.environ.get("CERTIFICATE_VERIFY_RATE_LIMIT",
                                                        "60 per minute;600 per hour"),
        "CERTIFICATE_CONFIRM_RATE_LIMIT": os.environ.get("CERTIFICATE_CONFIRM_RATE_LIMIT",
                                                         "5 per minute;30 per hour"),
        "CERTIFICATE_BULK_RATE_LIMIT": os.environ.get("CERTIFICATE_BULK_RATE_LIMIT",
                                                      "6 per minute;60 per hour"),
    }
    if os.environ.get("EXAM_START_SLOTS"):
        config["EXAM_START_SLOTS"] = int(os.environ["EXAM_START_SLOTS"])
    if os.environ.get("SCORING_WORKDAYS_FILE"):
        config["SCORING_WORKDAYS_FILE"] = os.environ["SCORING_WORKDAYS_FILE"]
    if env == "testing":
        config.update(TESTING=True, RATE_LIMITS_ON=False, WTF_CSRF_ENABLED=False)
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    return config
