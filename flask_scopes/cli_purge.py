"""The ``flask scopes purge`` command."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .errors import ScopesError
from .stores import purge_expired


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Remove expired sessions and revocation markers from stores that keep
    them (FileSystemCache). Stores that expire entries by themselves, such
    as Redis, need nothing."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scopes = app.extensions.get("scopes")
    if scopes is None:
        raise click.ClickException("flask-scopes is not set up on this app.")
    runtime = scopes.interface(app).runtime(app)
    stores = []
    for store in (runtime.store, runtime.revocations and runtime.revocations.store):
        if store is not None and store not in stores:
            stores.append(store)
    if not stores:
        raise click.ClickException(
            "No store is configured: set SCOPES_SESSION_STORE or"
            " SCOPES_REVOCATION_STORE."
        )
    for store in stores:
        if store.expires_by_itself:
            click.echo(f"{store.describe()}: expires entries by itself.")
            continue
        try:
            removed = purge_expired(store)
        except ScopesError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"{store.describe()}: removed {removed} expired entries.")
