"""Certificates as Open Badges 3.0 credentials, signed as VC-JWT (pure).

The credential is a W3C Verifiable Credential 2.0 with the Open Badges 3.0 context:
the achievement is the occupation at its level, the subject is the holder by the name
printed on the certificate (never the ID number), the issuer is the assessment body.
It is secured as a JWS in compact serialisation (VC-JOSE-COSE): the header says
``alg`` EdDSA, the ``kid`` of the body's key published at ``/.well-known/jwks.json``,
``typ`` vc+jwt and ``cty`` vc; the payload is the credential itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import signing

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MEDIA_TYPE = "application/vc+jwt"


@dataclass(frozen=True)
class BadgeFacts:
    number: str
    holder_name: str
    occupation_code: str
    occupation_name: str
    work_type: str
    level: int
    level_name: str
    issued_on: date
    issuer_code: str
    issuer_name: str


def _valid_from(issued_on: date, tz: str) -> str:
    start = datetime.combine(issued_on, time(0, 0), tzinfo=ZoneInfo(tz))
    return start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def credential(facts: BadgeFacts, base_url: str, tz: str = "Asia/Shanghai") -> dict:
    """The OpenBadgeCredential of one certificate."""
    base = base_url.rstrip("/")
    what = f"{facts.occupation_name} {facts.level_name}"
    if facts.work_type and facts.work_type != "--":
        what = f"{facts.occupation_name}（{facts.work_type}）{facts.level_name}"
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"{base}/c/{facts.number}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": f"{base}/issuers/{facts.issuer_code}",
            "type": ["Profile"],
            "name": facts.issuer_name,
            "url": base,
        },
        "validFrom": _valid_from(facts.issued_on, tz),
        "name": f"职业技能等级证书：{what}",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": facts.holder_name,
            }],
            "licenseNumber": facts.number,
            "achievement": {
                "id": f"{base}/achievements/{facts.occupation_code}/{facts.level}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": what,
                "description": f"职业技能等级证书（{facts.level_name}），职业编码 {facts.occupation_code}。",
                "criteria": {"narrative": "通过职业技能等级认定：理论知识考试与操作技能考核成绩均合格"
                                          "（二级、一级另须综合评审合格）。"},
                "humanCode": f"{facts.occupation_code}/{facts.level}",
                "fieldOfStudy": facts.occupation_name,
                "specialization": facts.work_type if facts.work_type != "--" else None,
            },
        },
    }


def _without_empty(value):
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def sign_credential(payload: dict, private_key: Ed25519PrivateKey, kid: str) -> str:
    """The credential as a VC-JWT (compact JWS, EdDSA)."""
    header = {"alg": "EdDSA", "kid": kid, "typ": "vc+jwt", "cty": "vc"}
    return signing.jws_sign(private_key, header, _without_empty(payload))


def verify_credential(token: str, jwks: dict) -> dict:
    """The credential of a VC-JWT whose signature verifies with a key of ``jwks``.

    :raise signing.SignatureError: otherwise.
    """
    header, payload = signing.jws_verify(token, signing.keys_from_jwks(jwks))
    if header.get("typ") != "vc+jwt":
        raise signing.SignatureError("not a vc+jwt")
    return payload
