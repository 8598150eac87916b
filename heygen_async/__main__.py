"""``python -m heygen_async`` runs the command line."""

from heygen_async._cli import run


run()
