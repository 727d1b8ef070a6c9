"""Every route declares who may use it, and gets exactly that.

Walks the whole URL map. For each route and method, every persona (anonymous, a
member with each single role, a signed-in user without an organisation, the
regulator) makes a request; the response must match the route's declaration:
allowed → anything but 401/403 or a redirect to sign-in; not allowed → a redirect
to sign-in (anonymous browsers), 401 (anonymous API calls) or 403.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest
from werkzeug.routing import Rule

from exam.core.auth import ORG_ROLES, Actor, access_rule_of

from ..factories import sign_in

#: Endpoints that are not views of ours.
EXEMPT = {"static"}
SAMPLE_VALUES = {"int": 987654, "string": "NOPE-123", "path": "nope/123", "uuid": "00000000-0000-0000-0000-000000000000",
                 "default": "NOPE-123", "any": "NOPE-123", "float": 1.5}


def _url(app, rule: Rule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__.replace("Converter", "").lower()
        converter = {"unicode": "string", "integer": "int", "number": "int"}.get(converter, converter)
        values[arg] = SAMPLE_VALUES.get(converter, SAMPLE_VALUES["default"])
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_route_declares_its_access(app):
    missing = [f"{r.rule} ({r.endpoint})" for r in app.url_map.iter_rules()
               if r.endpoint not in EXEMPT and access_rule_of(app.view_functions[r.endpoint]) is None]
    assert not missing, "routes without an access declaration:\n" + "\n".join(missing)


@pytest.fixture
def personas(factory):
    org = factory.org("ACCESS")
    people = {"anonymous": (None, None, Actor.anonymous())}
    for role in ORG_ROLES:
        user = factory.user(org, role)
        people[role] = (user, org, Actor(user_id=user.id, org_id=org.id, roles=frozenset({role})))
    lonely = factory.user(None)
    people["no organisation"] = (lonely, None, Actor(user_id=lonely.id))
    regulator = factory.regulator()
    people["regulator"] = (regulator, None, Actor(user_id=regulator.id, is_regulator=True))
    return people


def test_every_route_answers_each_role_as_declared(app, personas):
    failures = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in EXEMPT]
    assert len(rules) > 10
    for name, (user, org, actor) in personas.items():
        client = app.test_client()
        for rule in rules:
            declared = access_rule_of(app.view_functions[rule.endpoint])
            url = _url(app, rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if user is not None:
                    sign_in(client, user, org)  # again: an earlier request may have signed out
                response = client.open(url, method=method)
                allowed = declared.allows(actor, method)
                location = urlparse(response.headers.get("Location", ""))
                # A refusal sends to sign-in with where to come back to (sign-out sends there too,
                # without it).
                to_login = response.status_code in (301, 302, 303) and \
                    location.path == "/login" and "next=" in location.query
                if allowed:
                    ok = response.status_code not in (401, 403) and not to_login \
                        and response.status_code < 500
                elif name == "anonymous":
                    ok = to_login or response.status_code == 401
                else:
                    to_choose = response.status_code == 302 and \
                        "/choose-organisation" in response.headers.get("Location", "")
                    ok = response.status_code == 403 or (name == "no organisation" and to_choose)
                if not ok:
                    failures.append(f"{name:>16} {method:<6} {url} → {response.status_code} "
                                    f"(declared {declared.kind} {sorted(declared.roles)}, "
                                    f"allowed={allowed})")
    assert not failures, "\n".join(failures)
