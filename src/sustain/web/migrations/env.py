"""Alembic's entry point for the run history's migrations.

The server runs them at start-up (:func:`sustain.web.db.upgrade`) on its own
connection, passed in ``config.attributes["connection"]``; with none (Alembic's own
command line, ``-x url=…``), a connection to that URL is opened here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from sustain.web.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///path/sustain.db …")
    with create_engine(url).begin() as opened:
        context.configure(connection=opened, target_metadata=Base.metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
