"""Signatures of certificates and of the links in their QR codes (Ed25519; pure, no database).

The canonical string
--------------------
A certificate's signature covers this UTF-8 string (format version 1)::

    SC1|<kid>|<number>|<holder name>|<occupation code>|<level>|<issue date YYYY-MM-DD>

e.g. ``SC1|k5q3zt7a|Y000111010001264000001|王小明|6-31-01-03|4|2026-03-02``. The name is
in Unicode NFC; no field may contain ``|``, control characters or surrounding spaces
(issuing refuses such data), so the string splits back into exactly seven fields.

The QR link
-----------
``<PUBLIC_BASE_URL>/c/<number>?k=<kid>&s=<signature>``: ``kid`` is 8 characters of
lower-case base32 naming the key, ``signature`` the 64-byte Ed25519 signature in
base64url without padding (86 characters). Parsing is strict, so a link has exactly one
spelling: anything else (another case, padding, percent-encoding, other or repeated
parameters, spare bits set in the last signature character) is refused, not repaired.

Keys are published as RFC 8037 JWKs (``kty`` OKP, ``crv`` Ed25519).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .numbers import is_well_formed

FORMAT_VERSION = "SC1"
SEPARATOR = "|"
SIGNATURE_LENGTH = 86  #: base64url characters of a 64-byte signature
KID_RE = re.compile(r"[a-z2-7]{8}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_OCCUPATION_CODE_RE = re.compile(r"[0-9A-Za-z.\-]{1,20}")


class SignatureError(ValueError):
    """A signature, key or link that cannot be used; ``str()`` says why (English, for logs and CLI)."""


# --- base64url, strictly ----------------------------------------------------------------

def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, length: int | None = None) -> bytes:
    """Decode unpadded base64url, accepting only the one canonical spelling of the bytes.

    :raise SignatureError: other characters, padding, an impossible length, spare bits set,
        or not ``length`` bytes.
    """
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise SignatureError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("not unpadded base64url") from None
    if b64url_encode(data) != text:
        raise SignatureError("not the canonical base64url spelling (spare bits set)")
    if length is not None and len(data) != length:
        raise SignatureError(f"{len(data)} bytes where {length} are expected")
    return data


# --- the canonical string -------------------------------------------------------------------

@dataclass(frozen=True)
class SignedFacts:
    """What a certificate's signature covers."""

    number: str
    holder_name: str
    occupation_code: str
    level: int
    issued_on: date


def field_problem(value: str) -> str | None:
    """Why ``value`` cannot be a field of the canonical string, or None."""
    if not value:
        return "empty"
    if value != value.strip():
        return "leading or trailing spaces"
    if SEPARATOR in value:
        return f"contains {SEPARATOR!r}"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return "contains control characters"
    return None


def canonical_string(kid: str, facts: SignedFacts) -> str:
    """:raise SignatureError: when a field cannot be represented (see the module docstring)."""
    if not KID_RE.fullmatch(kid or ""):
        raise SignatureError(f"key id {kid!r} is not 8 characters of lower-case base32")
    if not is_well_formed(facts.number):
        raise SignatureError(f"{facts.number!r} is not a certificate number")
    name = unicodedata.normalize("NFC", facts.holder_name or "")
    for label, value in (("holder name", name), ("occupation code", facts.occupation_code)):
        problem = field_problem(value)
        if problem:
            raise SignatureError(f"{label} {value!r}: {problem}")
    if not _OCCUPATION_CODE_RE.fullmatch(facts.occupation_code):
        raise SignatureError(f"occupation code {facts.occupation_code!r}")
    if not 1 <= facts.level <= 9:
        raise SignatureError(f"level {facts.level!r}")
    return SEPARATOR.join([FORMAT_VERSION, kid, facts.number, name, facts.occupation_code,
                           str(facts.level), facts.issued_on.isoformat()])


# --- keys -----------------------------------------------------------------------------------

def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """8 characters of lower-case base32 of the SHA-256 of the raw public key (40 bits)."""
    digest = hashlib.sha256(public_bytes(key)).digest()
    return base64.b32encode(digest).decode("ascii")[:8].lower()


def public_key_from_b64(x: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url_decode(x, length=32))


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError("not an Ed25519 private key")
    return key


def jwk(public_key_b64: str, kid: str, **extra) -> dict:
    """The RFC 8037 JWK of an Ed25519 public key (``extra`` members, e.g. ``org``, are appended)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": public_key_b64, "kid": kid, "use": "sig",
            "alg": "EdDSA", **extra}


def public_key_from_jwk(entry: dict) -> Ed25519PublicKey:
    """:raise SignatureError: not an Ed25519 signing JWK."""
    if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
        raise SignatureError("not an OKP Ed25519 key")
    if entry.get("alg", "EdDSA") != "EdDSA" or entry.get("use", "sig") != "sig" or "d" in entry:
        raise SignatureError("not a public EdDSA signing key")
    return public_key_from_b64(entry.get("x", ""))


def keys_from_jwks(document: dict) -> dict[str, dict]:
    """kid → JWK of every usable key in a JWK Set; entries of other types are skipped."""
    found = {}
    for entry in (document or {}).get("keys", []):
        try:
            public_key_from_jwk(entry)
        except SignatureError:
            continue
        kid = entry.get("kid")
        if isinstance(kid, str) and KID_RE.fullmatch(kid):
            found[kid] = entry
    return found


# --- signing and verifying ------------------------------------------------------------------

def sign(private_key: Ed25519PrivateKey, message: str | bytes) -> str:
    data = message.encode("utf-8") if isinstance(message, str) else message
    return b64url_encode(private_key.sign(data))


def verify(public_key: Ed25519PublicKey, message: str | bytes, signature: str) -> bool:
    """True when ``signature`` (strict base64url) is ``public_key``'s signature of ``message``."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    try:
        public_key.verify(b64url_decode(signature, length=64), data)
    except (SignatureError, InvalidSignature):
        return False
    return True


def sign_certificate(private_key: Ed25519PrivateKey, kid: str, facts: SignedFacts) -> str:
    return sign(private_key, canonical_string(kid, facts))


def verify_certificate(public_key: Ed25519PublicKey, kid: str, facts: SignedFacts,
                       signature: str) -> bool:
    try:
        message = canonical_string(kid, facts)
    except SignatureError:
        return False
    return verify(public_key, message, signature)


# --- the QR link ------------------------------------------------------------------------------

@dataclass(frozen=True)
class QrLink:
    number: str
    kid: str
    signature: str


def qr_url(base_url: str, number: str, kid: str, signature: str) -> str:
    return f"{base_url.rstrip('/')}/c/{number}?k={kid}&s={signature}"


def parse_qr_url(url: str, base_url: str) -> QrLink:
    """Split a QR link, refusing every spelling but the one ``qr_url`` makes for ``base_url``.

    :raise SignatureError: with the reason.
    """
    if not isinstance(url, str) or not url.isascii() or any(c.isspace() for c in url):
        raise SignatureError("the link contains spaces or characters outside ASCII")
    prefix = f"{base_url.rstrip('/')}/c/"
    if not url.startswith(prefix):
        raise SignatureError(f"the link does not start with {prefix}")
    if "%" in url or "#" in url:
        raise SignatureError("the link contains percent-encoding or a fragment")
    parts = urlsplit(url)
    number, _, query = url[len(prefix):].partition("?")
    if not is_well_formed(number):
        raise SignatureError(f"{number!r} is not a certificate number")
    params = query.split("&")
    if len(params) != 2 or not params[0].startswith("k=") or not params[1].startswith("s="):
        raise SignatureError("the link's query is not exactly k=…&s=…")
    kid, signature = params[0][2:], params[1][2:]
    if not KID_RE.fullmatch(kid):
        raise SignatureError(f"key id {kid!r} is not 8 characters of lower-case base32")
    if len(signature) != SIGNATURE_LENGTH:
        raise SignatureError(f"the signature has {len(signature)} characters, not {SIGNATURE_LENGTH}")
    b64url_decode(signature, length=64)
    if parts.query != query:  # defensive: urlsplit must agree with the split above
        raise SignatureError("the link's query is ambiguous")
    return QrLink(number=number, kid=kid, signature=signature)


def check_link_parameters(kid: str | None, signature: str | None) -> str | None:
    """Why a web request's ``k`` and ``s`` cannot be a QR signature, or None when well-formed."""
    if not KID_RE.fullmatch(kid or ""):
        return "key id"
    if len(signature or "") != SIGNATURE_LENGTH:
        return "signature length"
    try:
        b64url_decode(signature, length=64)
    except SignatureError:
        return "signature encoding"
    return None


# --- JWS compact (for the Open Badges credential) -----------------------------------------

def _json_bytes(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode("utf-8")


def jws_sign(private_key: Ed25519PrivateKey, header: dict, payload: dict) -> str:
    """A JWS in compact serialisation (RFC 7515) with ``alg`` EdDSA (RFC 8037)."""
    signing_input = f"{b64url_encode(_json_bytes(header))}.{b64url_encode(_json_bytes(payload))}"
    return f"{signing_input}.{sign(private_key, signing_input.encode('ascii'))}"


def jws_verify(token: str, keys: dict[str, dict]) -> tuple[dict, dict]:
    """Verify a compact JWS against ``keys`` (kid → JWK); returns (header, payload).

    :raise SignatureError: malformed, unknown key, other algorithm or a bad signature.
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise SignatureError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
    except (ValueError, SignatureError):
        raise SignatureError("the JWS header or payload is not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise SignatureError("the JWS algorithm is not EdDSA")
    entry = keys.get(header.get("kid"))
    if entry is None:
        raise SignatureError(f"unknown key id {header.get('kid')!r}")
    if not verify(public_key_from_jwk(entry), f"{parts[0]}.{parts[1]}".encode("ascii"), parts[2]):
        raise SignatureError("the JWS signature does not verify")
    return header, payload
