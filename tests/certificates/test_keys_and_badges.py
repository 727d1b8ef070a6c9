"""Signing keys (files outside the database, rotation) and the Open Badges credential."""
from __future__ import annotations

import base64
import json
import stat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from exam.certificates import badges, keys, services, signing
from exam.certificates.models import SigningKey
from exam.core.audit import AuditEvent
from exam.extensions import db

from ..factories import sign_in


def test_private_keys_are_owner_only_files_and_never_in_the_database(app, issued):
    org, actor, session, cert = issued
    row = keys.active_key_row(org.id)
    directory = keys.keys_dir()
    path = directory / f"{row.kid}.pem"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = keys.load_private_key(row.kid).private_key
    assert signing.b64url_encode(signing.public_bytes(loaded.public_key())) == row.public_key
    assert signing.key_id(loaded.public_key()) == row.kid
    assert all("PRIVATE" not in str(v) for v in row.__dict__.values())


def test_rotation_retires_the_old_key_which_still_verifies(issued, world):
    org, actor, session, cert = issued
    old = keys.active_key_row(org.id)
    new = keys.rotate_key(actor, org.id)
    assert (old.status, new.status) == ("retired", "active") and old.retired_at is not None
    assert keys.ensure_active_key(actor, org.id).kid == new.kid  # no third key
    other, = world.enrolled(session, ["李娜"])
    second, = services.issue_for_session(actor, session.id, [other.id])
    assert (cert.kid, second.kid) == (old.kid, new.kid)
    assert services.verify(cert.number, cert.kid, cert.signature).result == "valid"
    assert services.verify(second.number, second.kid, second.signature).result == "valid"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("signing_key.%"))
                                 .order_by(AuditEvent.seq)).all()
    assert actions == ["signing_key.created", "signing_key.rotated"]
    assert db.session.query(SigningKey).filter_by(org_id=org.id, status="active").count() == 1


def _public_key(jwk: dict) -> Ed25519PublicKey:
    """Straight from the JWK, without the application's helpers."""
    x = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(x)


def test_the_open_badge_is_a_vc_jwt_that_verifies_with_the_published_key(client, issued):
    org, actor, session, cert = issued
    from exam.accounts.models import User

    sign_in(client, db.session.get(User, cert.holder_user_id), org)
    token = client.get(f"/my/certificates/{cert.id}/badge").get_data(as_text=True)
    header_b64, payload_b64, signature_b64 = token.split(".")
    decode = lambda part: base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))  # noqa: E731
    header = json.loads(decode(header_b64))
    assert header == {"alg": "EdDSA", "kid": cert.kid, "typ": "vc+jwt", "cty": "vc"}
    jwks = client.get("/.well-known/jwks.json").json
    [jwk] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    _public_key(jwk).verify(decode(signature_b64), f"{header_b64}.{payload_b64}".encode("ascii"))

    credential = json.loads(decode(payload_b64))
    assert credential["@context"] == [badges.VC_CONTEXT, badges.OB_CONTEXT]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == f"https://verify.example.test/issuers/{org.code}"
    assert credential["issuer"]["name"] == org.name
    subject = credential["credentialSubject"]
    assert subject["identifier"][0] == {"type": "IdentityObject", "identityType": "name",
                                        "hashed": False, "identityHash": "王小明"}
    assert subject["licenseNumber"] == cert.number
    assert subject["achievement"]["name"] == "电工 四级/中级工"
    assert {"criteria", "description", "id", "type"} <= set(subject["achievement"])
    assert cert.holder_id_number not in token and cert.holder_id_number not in json.dumps(credential)
    assert credential["validFrom"].endswith("T16:00:00Z")  # midnight in Beijing on the issue date
    assert badges.verify_credential(token, jwks) == credential
    tampered = header_b64 + "." + payload_b64[:-4] + "AAAA." + signature_b64
    try:
        badges.verify_credential(tampered, jwks)
    except signing.SignatureError:
        pass
    else:
        raise AssertionError("a changed credential verified")
    profile = client.get(f"/issuers/{org.code}").json
    assert profile["name"] == org.name and profile["jwks"]["keys"][0]["kid"] == cert.kid
