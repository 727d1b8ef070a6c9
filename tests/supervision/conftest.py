"""The live board's tests use the exam fixtures of the delivery tests."""
from ..delivery.conftest import sitting, staff_client, world  # noqa: F401  (fixtures)
