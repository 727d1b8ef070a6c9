"""``flask exam keys``, ``verify-qr`` (offline checks of QR links) and ``issue``."""
from __future__ import annotations

import json
import re

import pytest

from exam.certificates import keys, services
from exam.certificates.models import Certificate
from exam.extensions import db


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["exam", *args])


def _flip(ch: str) -> str:
    """A different character of the same kind (so the change is as plausible as possible)."""
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if ch in alphabet:
            return alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
    return {"-": "_", "_": "-", "/": "\\", ":": ";", ".": ",", "?": "&", "&": "?", "=": "-"}.get(ch, "x")


def test_verify_qr_with_the_database_keys_and_records(cli, issued):
    org, actor, session, cert = issued
    url = services.link(cert)
    result = cli("verify-qr", url)
    assert result.exit_code == 0, result.output
    assert f"signed by {org.code}" in result.output and cert.kid in result.output
    assert "王小明" in result.output


def test_every_tampered_character_fails_offline(cli, issued, tmp_path):
    org, actor, session, cert = issued
    url = services.link(cert)
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(keys.jwks()))
    printed = ["--name", cert.holder_name, "--occupation-code", cert.occupation_code,
               "--issued-on", cert.issued_on.isoformat()]
    assert cli("verify-qr", url, "--jwks", str(jwks_file), *printed).exit_code == 0
    for position, ch in enumerate(url):
        variant = url[:position] + _flip(ch) + url[position + 1:]
        from_records = cli("verify-qr", variant)
        offline = cli("verify-qr", variant, "--jwks", str(jwks_file), *printed)
        assert from_records.exit_code in (1, 2), (position, variant, from_records.output)
        assert offline.exit_code in (1, 2), (position, variant, offline.output)
        assert not re.search(r"^OK:", from_records.output + offline.output, re.M)


def test_verify_qr_checks_the_printed_facts(cli, issued, tmp_path):
    org, actor, session, cert = issued
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(keys.jwks()))
    url = services.link(cert)
    wrong_name = cli("verify-qr", url, "--jwks", str(jwks_file), "--name", "李鬼", "--occupation-code",
                     cert.occupation_code, "--issued-on", cert.issued_on.isoformat())
    assert wrong_name.exit_code == 1 and "does not verify" in wrong_name.output
    assert cli("verify-qr", url, "--jwks", str(jwks_file)).exit_code == 2  # facts needed offline
    assert cli("verify-qr", url, "--base-url", "https://other.example").exit_code == 2


def test_keys_rotate_and_list(cli, issued):
    org, actor, session, cert = issued
    result = cli("keys", "rotate", "--org", org.code)
    assert result.exit_code == 0 and "retired" in result.output
    listing = cli("keys", "list").output
    assert listing.count(org.code) == 2 and "retired" in listing and "active" in listing
    assert "private key here" in listing
    assert cli("keys", "rotate", "--org", "NOPE").exit_code != 0
    assert cli("verify-qr", services.link(cert)).exit_code == 0  # the retired key still verifies


def test_issue_command_issues_what_is_issuable(cli, world):
    org = world.org("CLI")
    session = world.session(org)
    world.enrolled(session, ["王小明", "李娜"])
    result = cli("issue", "--session", str(session.id))
    assert result.exit_code == 0, result.output
    assert "issued 2 certificates" in result.output
    assert db.session.query(Certificate).count() == 2
    assert "nothing to issue" in cli("issue", "--session", str(session.id)).output
    assert cli("issue", "--session", "999999").exit_code != 0
