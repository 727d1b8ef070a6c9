"""Pages that belong to no domain: the home page and health checks."""
from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from ..extensions import db
from .auth import current_actor, public

bp = Blueprint("core", __name__)


@bp.get("/")
@public
def index():
    return render_template("core/index.html", actor=current_actor())


@bp.get("/healthz")
@public
def healthz():
    """Liveness: the process answers (no database work; also the load benchmarks' baseline)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    """Readiness: the database answers."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok", database=db.engine.dialect.name)
