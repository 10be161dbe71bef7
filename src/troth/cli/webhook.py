"""``troth webhook add|list|remove|deliveries``: signed webhooks on request changes."""

from __future__ import annotations

from typing import Annotated

import typer

from troth.cli._console import console
from troth.cli.serve import DbOption, _open_store, _settings

app = typer.Typer(help="Signed webhooks on every change of a request (sent by the workers).")


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="https:// URL that receives the POSTs.")],
    events: Annotated[
        str, typer.Option(help="Event prefix to send (dsr.: every request change).")
    ] = "dsr.",
    db: DbOption = None,
) -> None:
    """Register an endpoint; prints its id and signing secret once."""
    from troth.worker.webhooks import add_endpoint, endpoint_secret

    settings = _settings(db)
    endpoint_id = add_endpoint(_open_store(settings), settings.secret_key, url, events)
    console.out(f"id      {endpoint_id}", highlight=False)
    console.out(f"secret  {endpoint_secret(settings.secret_key, endpoint_id)}", highlight=False)


@app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """Endpoints (ids, URLs, events, state)."""
    from troth.worker.webhooks import list_endpoints

    for e in list_endpoints(_open_store(_settings(db))):
        state = f"disabled {e.disabled_at}" if e.disabled_at else "active"
        console.out(f"{e.id}  {e.events}  {state}  {e.url}", highlight=False)


@app.command("remove")
def remove(
    endpoint_id: Annotated[str, typer.Argument(help="Endpoint id.")], db: DbOption = None
) -> None:
    """Stop sending to an endpoint (its deliveries are kept)."""
    from troth.worker.webhooks import disable_endpoint

    disable_endpoint(_open_store(_settings(db)), endpoint_id)
    console.out(f"removed {endpoint_id}", highlight=False)


@app.command("deliveries")
def deliveries_cmd(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """The latest deliveries: event, endpoint, status, attempts, last answer."""
    from troth.worker.webhooks import deliveries

    for d in deliveries(_open_store(_settings(db)), limit=limit):
        last = d["last_code"] if d["last_code"] is not None else (d["last_error"] or "-")
        console.out(
            f"{d['id']}  event {d['event_id']}  {d['endpoint_id']}  {d['status']}  "
            f"attempts {d['attempts']}  last {last}  {d['updated_at']}",
            highlight=False,
        )
