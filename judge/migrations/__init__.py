"""Alembic migrations of the judge service's database (see :mod:`codetutor.judge.store`)."""
