"""Shared kernel: the clock, database types, errors, authorization, audit log and i18n helpers.

Nothing here imports a domain package.
"""
