"""``wsgi.py`` with one setting changed, to measure what it would save on the exam's hot path:
``SESSION_REFRESH_EACH_REQUEST = False`` (Flask then re-signs a permanent session's cookie only
when the session changes, instead of on every response)."""
from exam import create_app

app = create_app({"SESSION_REFRESH_EACH_REQUEST": False})
