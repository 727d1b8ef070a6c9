from flask import Blueprint

bp = Blueprint("scoring", __name__)
