from exam.core.errors import NotFound, ValidationFailed, Problem


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_styles(client):
    html = client.get("/login").get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html and "onclick" not in html
    assert "<script src=\"/static/js/app.js\"" in html


def test_no_external_resources(client):
    html = client.get("/").get_data(as_text=True) + client.get("/register").get_data(as_text=True)
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_not_found_is_a_friendly_page_for_browsers_and_json_for_the_api(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.content_type
    assert "页面不存在" in page.get_data(as_text=True)
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404 and api.is_json and api.json["error"] == "not_found"


def test_domain_errors_become_status_codes(app):
    from flask import Flask

    from exam.core.auth import public
    from exam.core.web import register_error_handlers

    @public
    def boom():
        raise ValidationFailed("bad input", problems=[Problem("too short", "row 3")])

    @public
    def missing():
        raise NotFound("no such thing")

    # A throwaway app with the same handlers, so the real URL map keeps only declared routes.
    probe = Flask(__name__)
    probe.config.update(app.config)
    probe.add_url_rule("/api/boom", view_func=boom)
    probe.add_url_rule("/api/missing", view_func=missing)
    register_error_handlers(probe)
    client = probe.test_client()
    r = client.get("/api/boom")
    assert r.status_code == 422
    assert r.json == {"error": "invalid", "message": "bad input",
                      "problems": [{"message": "too short", "location": "row 3"}]}
    assert client.get("/api/missing").status_code == 404


def test_health_endpoints(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz").json
    assert ready["status"] == "ok" and ready["database"] in ("sqlite", "postgresql")


def test_static_files_are_cacheable_pages_are_not(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
