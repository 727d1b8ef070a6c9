"""Signatures, the canonical string and the QR link (pure: no application)."""
from __future__ import annotations

import string
from datetime import date

import pytest

from exam.certificates import signing
from exam.certificates.signing import SignatureError, SignedFacts

BASE = "https://verify.example.test"
FACTS = SignedFacts("Y000111010001264000001", "王小明", "6-31-01-03", 4, date(2026, 3, 2))


@pytest.fixture(scope="module")
def key():
    return signing.generate_private_key()


def test_the_canonical_string_is_documented_and_stable(key):
    kid = signing.key_id(key.public_key())
    assert signing.KID_RE.fullmatch(kid)
    assert signing.canonical_string(kid, FACTS) == \
        f"SC1|{kid}|Y000111010001264000001|王小明|6-31-01-03|4|2026-03-02"
    # Composed and decomposed forms of a name sign the same string (NFC).
    decomposed = SignedFacts(FACTS.number, "Zoe\u0308", "6-31-01-03", 4, FACTS.issued_on)
    composed = SignedFacts(FACTS.number, "Zo\u00eb", "6-31-01-03", 4, FACTS.issued_on)
    assert signing.canonical_string(kid, decomposed) == signing.canonical_string(kid, composed)


@pytest.mark.parametrize("name", ["王|小明", " 王小明", "王小明\n", "王\u200b小明", ""])
def test_fields_that_could_blur_the_string_are_refused(key, name):
    with pytest.raises(SignatureError):
        signing.canonical_string("abcdefgh", SignedFacts(FACTS.number, name, "6-31-01-03", 4, FACTS.issued_on))


def test_a_signature_verifies_for_exactly_the_facts_it_signed(key):
    kid = signing.key_id(key.public_key())
    signature = signing.sign_certificate(key, kid, FACTS)
    public = key.public_key()
    assert len(signature) == signing.SIGNATURE_LENGTH
    assert signing.verify_certificate(public, kid, FACTS, signature)
    for changed in (SignedFacts(FACTS.number, "王晓明", "6-31-01-03", 4, FACTS.issued_on),
                    SignedFacts(FACTS.number, "王小明", "6-31-01-04", 4, FACTS.issued_on),
                    SignedFacts(FACTS.number, "王小明", "6-31-01-03", 3, FACTS.issued_on),
                    SignedFacts(FACTS.number, "王小明", "6-31-01-03", 4, date(2026, 3, 3)),
                    SignedFacts("Y000111010001264000002", "王小明", "6-31-01-03", 4, FACTS.issued_on)):
        assert not signing.verify_certificate(public, kid, changed, signature)
    other = signing.generate_private_key()
    assert not signing.verify_certificate(other.public_key(), kid, FACTS, signature)
    assert not signing.verify_certificate(public, "aaaaaaaa", FACTS, signature)


def test_base64url_has_one_spelling():
    data = bytes(range(64))
    text = signing.b64url_encode(data)
    assert signing.b64url_decode(text, length=64) == data
    spare_bits = text[:-1] + chr(ord(text[-1]) + 1)  # same bytes when decoded leniently
    for wrong in (text + "=", text + "==", spare_bits, text.replace("-", "+"), text[:-1], text + "A",
                  text[:10] + " " + text[10:]):
        with pytest.raises(SignatureError):
            signing.b64url_decode(wrong, length=64)


def _link(key) -> str:
    kid = signing.key_id(key.public_key())
    return signing.qr_url(BASE, FACTS.number, kid, signing.sign_certificate(key, kid, FACTS))


def _verifies(url: str, key) -> bool:
    try:
        link = signing.parse_qr_url(url, BASE)
    except SignatureError:
        return False
    if link.kid != signing.key_id(key.public_key()):
        return False  # no published key with this id
    facts = SignedFacts(link.number, FACTS.holder_name, FACTS.occupation_code, FACTS.level, FACTS.issued_on)
    return signing.verify_certificate(key.public_key(), link.kid, facts, link.signature)


def test_the_link_parses_back(key):
    url = _link(key)
    link = signing.parse_qr_url(url, BASE)
    assert (link.number, link.kid) == (FACTS.number, signing.key_id(key.public_key()))
    assert _verifies(url, key)
    assert len(url) == len(BASE) + 125


ALPHABET = string.ascii_letters + string.digits + "-_=%&?/:.#+ "


def test_every_single_character_change_of_a_link_fails(key):
    """Flip each character of a real link to every other character of the URL alphabet: no
    variant verifies (the parser is strict, so no change can decode to the same bytes)."""
    url = _link(key)
    variants = 0
    for position, original in enumerate(url):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            variant = url[:position] + replacement + url[position + 1:]
            variants += 1
            assert not _verifies(variant, key), (position, original, replacement)
    for position in range(len(url)):  # dropped and doubled characters too
        assert not _verifies(url[:position] + url[position + 1:], key)
        assert not _verifies(url[:position] + url[position] + url[position:], key)
    assert variants > 10_000


@pytest.mark.parametrize("url", [
    BASE + "/c/Y000111010001264000001?s=" + "A" * 86 + "&k=abcdefgh",
    BASE + "/c/Y000111010001264000001?k=abcdefgh&s=" + "A" * 86 + "&x=1",
    BASE + "/c/Y000111010001264000001?k=abcdefgh&k=abcdefgh&s=" + "A" * 86,
    BASE + "/c/Y000111010001264000001?k=ABCDEFGH&s=" + "A" * 86,
    BASE + "/c/Y000111010001264000001?k=abcdefgh&s=" + "A" * 86 + "#top",
    BASE + "/c/Y000111010001264000001?k=abcdefgh&s=" + "A" * 85 + "%41",
    "http://verify.example.test/c/Y000111010001264000001?k=abcdefgh&s=" + "A" * 86,
    BASE + "/c/Y000111010001264000001/?k=abcdefgh&s=" + "A" * 86,
])
def test_other_spellings_of_a_link_are_refused(url):
    with pytest.raises(SignatureError):
        signing.parse_qr_url(url, BASE)


def test_jwk_round_trip_and_jws(key):
    kid = signing.key_id(key.public_key())
    x = signing.b64url_encode(signing.public_bytes(key.public_key()))
    jwk = signing.jwk(x, kid, org="DEMO")
    assert signing.keys_from_jwks({"keys": [jwk, {"kty": "RSA", "kid": "rsa"}]}) == {kid: jwk}
    token = signing.jws_sign(key, {"alg": "EdDSA", "kid": kid}, {"hello": "世界"})
    assert signing.jws_verify(token, {kid: jwk}) == ({"alg": "EdDSA", "kid": kid}, {"hello": "世界"})
    header, payload, signature = token.split(".")
    forged = signing.b64url_encode(b'{"hello":"world"}')
    altered = ("B" if signature[0] == "A" else "A") + signature[1:]  # always a different signature
    for bad in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{altered}", "a.b"):
        with pytest.raises(SignatureError):
            signing.jws_verify(bad, {kid: jwk})
    with pytest.raises(SignatureError):
        signing.public_key_from_jwk({**jwk, "d": "secret"})
