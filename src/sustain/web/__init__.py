"""The web app (``sustain serve``): the JSON API over the same library calls as the CLI,
jobs in worker processes, and the run history in a database.

Needs the extra ``sustain[web]`` (FastAPI, uvicorn, SQLAlchemy, Alembic).
"""
