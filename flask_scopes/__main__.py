"""``python -m flask_scopes``: the commands that need no app, such as
``secret``, for when the app can't load yet (it may need the very key the
command makes).

.. versionadded:: 0.2
"""

from __future__ import annotations

import click

from .cli import secret_command


@click.group(help="flask-scopes commands that need no app.")
def main() -> None:
    """The ``python -m flask_scopes`` command group."""


main.add_command(secret_command)

if __name__ == "__main__":
    main(prog_name="python -m flask_scopes")
