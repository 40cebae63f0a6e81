"""`finsent entities ...`: the company universe the crawlers tag articles with."""

from __future__ import annotations

from pathlib import Path

import typer

from finsent.cli.common import console
from finsent.cli.context import current

__all__ = ["register"]

entities_app = typer.Typer(help="The company universe used to tag articles.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(entities_app, name="entities")


@entities_app.command("import")
def entities_import(
    file: Path = typer.Argument(..., help="CSV with columns ticker,name[,aliases,exchange,ambiguous,...]."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; store nothing."),
) -> None:
    """Validate a universe CSV and store it as the imported universe (exit 65 on bad rows).

    Crawlers started afterwards tag with the bundled universe plus this one (its rows win for
    the same ticker); a running crawler picks it up when restarted.
    """
    from finsent.ingest.app import imported_universe_path
    from finsent.ingest.universe import default_ticker_table, import_universe

    settings = current().settings
    target = imported_universe_path(settings)
    if dry_run:
        target = settings.data_dir / ".universe-dry-run.csv"
    companies = import_universe(file, target)
    if dry_run:
        target.unlink(missing_ok=True)
    bundled = default_ticker_table()
    overriding = sum(1 for c in companies if c.ticker in bundled.companies)
    ambiguous = sum(1 for c in companies if c.ambiguous)
    where = "validated (dry run)" if dry_run else f"imported into {target}"
    console.print(
        f"{len(companies)} companies {where}: {overriding} override bundled rows, "
        f"{ambiguous} ambiguous (only as $TICKER, after an exchange prefix or by name)",
        highlight=False,
    )


@entities_app.command("show")
def entities_show() -> None:
    """Print the universe the crawlers use: companies by market and where the imported one is."""
    from finsent.ingest.app import imported_universe_path, universe_table

    imported = imported_universe_path(current().settings)
    table = universe_table(current().settings)
    markets = ", ".join(f"{m or 'curated'} {n}" for m, n in table.by_market().items())
    console.print(f"{len(table)} companies ({markets})", highlight=False)
    state = "present" if imported.is_file() else "none yet"
    console.print(f"imported universe: {imported} ({state})", highlight=False)


@entities_app.command("tag")
def entities_tag(
    title: str = typer.Argument(..., help="Headline."),
    body: str = typer.Option("", "--body", help="Body text."),
) -> None:
    """Tag one headline (and body): each entity with its relevance (0-100) and spans."""
    from finsent.ingest.app import universe_tagger

    tagger = universe_tagger(current().settings)
    entities = tagger.tag(title, body)
    if not entities:
        console.print("no company of the universe is mentioned", highlight=False)
    for entity in entities:
        spans = ", ".join(f"{s.field}[{s.start}:{s.end}]={s.text!r}" for s in entity.spans) or "declared"
        console.print(
            f"{entity.ticker:10} {round(100 * entity.relevance):3d}  {entity.name or ''}  {spans}",
            highlight=False,
        )
