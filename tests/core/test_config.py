import os
import stat

import pytest

from exam.config import ConfigError, load_config, normalise_database_url


def test_production_without_secret_key_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/skillcert")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, {"ENV_NAME": "production"})


def test_production_uses_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/skillcert")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = load_config(tmp_path, {"ENV_NAME": "production"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/skillcert"


def test_development_generates_secret_once_and_keeps_it_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = load_config(tmp_path, {"ENV_NAME": "development"})
    second = load_config(tmp_path, {"ENV_NAME": "development"})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 40
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'skillcert.db'}"
    assert first["SESSION_COOKIE_SECURE"] is False


def test_unknown_environment_name_is_an_error(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path, {"ENV_NAME": "staging"})


@pytest.mark.parametrize("url, expected", [
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_urls_use_psycopg3(url, expected):
    assert normalise_database_url(url) == expected
