from flask import Blueprint

bp = Blueprint("delivery", __name__)
