from flask import Blueprint

bp = Blueprint("papers", __name__)
