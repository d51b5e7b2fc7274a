"""Alembic environment of the judge database.

Run through :meth:`codetutor.judge.store.Store.upgrade`, which hands over an open
connection in ``config.attributes["connection"]``; the ``alembic`` command line
works too with ``-x url=...`` (``alembic -c codetutor/judge/alembic.ini``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from codetutor.judge.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database with: alembic -x url=DATABASE_URL ...")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
