"""``ownergraph load images`` and ``ownergraph images link``: pictures as hashes
(registered on the main app by ``ownergraph.cli``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ownergraph.errors import UsageError, reported_as

if TYPE_CHECKING:
    from ownergraph.stages.images import ImageLinkSummary

images_app = typer.Typer(help="Pictures as evidence: hashes only.", no_args_is_help=True)


def load_images_cmd(
    ctx: typer.Context,
    folder: str | None = typer.Option(
        None, "--folder", help="A folder keyed by ad id: DIR/<ad>/*.jpg or DIR/<ad>.jpg."
    ),
    ads: str | None = typer.Option(
        None, "--ads", help="An ads file whose --column holds picture paths."
    ),
    column: str | None = typer.Option(
        None, "--column", help="Field with the references (dotted path; lists walked)."
    ),
    id_column: str = typer.Option("id", "--id-column", help="Field with the ad id."),
    hashes: str | None = typer.Option(
        None, "--hashes", help="A shared hash list (CSV: ad_id,pdq[,phash,pdq_quality,crops])."
    ),
    base_dir: str | None = typer.Option(
        None,
        "--base-dir",
        help="Relative references are under this folder (default: the ads file's).",
    ),
    crops: bool = typer.Option(True, "--crops/--no-crops", help="Hash crops (second matcher)."),
    workers: int = typer.Option(0, "--workers", help="Hashing processes (0: one per core)."),
    link: bool = typer.Option(True, "--link/--no-link", help="Match and group afterwards."),
    quarantine: str = typer.Option(
        "./quarantine/images.jsonl", "--quarantine", help="Where rejected references go."
    ),
    store: str | None = typer.Option(None, "--store", envvar="OWNERGRAPH_STORE"),
) -> None:
    """Hash ad pictures (PDQ, pHash, crops) and store only the hashes: Image nodes and
    (Ad)-[:HAS_IMAGE]->(Image). URLs are never fetched; no picture is copied anywhere."""
    from pathlib import Path

    from ownergraph.cli import _audited, _open, console
    from ownergraph.loaders.quarantine import InputError, Quarantine
    from ownergraph.stages.images import load_images

    with _open(store, create=True) as s, Quarantine(Path(quarantine)) as q:
        s.init_schema()
        with _audited(ctx, s, "images") as record:
            with reported_as(UsageError, ValueError, FileNotFoundError, InputError):
                out = load_images(
                    s, folder=folder, ads=ads, column=column, id_column=id_column,
                    hashes=hashes, base_dir=base_dir, crops=crops, workers=workers,
                    quarantine=q, link=link,
                )  # fmt: skip
            record(out.to_dict())
    console.print(
        f"pictures: {out.refs:,} references, {out.hashed:,} hashed, "
        f"{out.loaded:,} ad links to {out.images:,} images loaded, "
        f"{out.quarantined:,} quarantined"
        + (
            f" ({', '.join(f'{k}: {v}' for k, v in out.reasons.items())}) -> {quarantine}"
            if out.quarantined
            else ""
        )  # fmt: skip
    )
    if out.link is not None:
        _print_link(console, out.link)


def _print_link(console, s: ImageLinkSummary) -> None:  # noqa: ANN001 - a rich Console
    console.print(
        f"matching: {s.images:,} images, {s.matches:,} matching pairs "
        f"{s.matches_by_method}, {s.groups:,} picture groups "
        f"({s.shared_groups:,} shown by several ads), "
        f"{s.generic_groups:,} generic (never evidence)"
    )


@images_app.command("link")
def images_link_cmd(
    ctx: typer.Context,
    store: str | None = typer.Option(None, "--store", envvar="OWNERGRAPH_STORE"),
) -> None:
    """Match the store's pictures again (PDQ, pHash, crops), group them, mark generic ones."""
    from ownergraph.cli import _audited, _open, console
    from ownergraph.stages.images import link_images

    with _open(store) as s, _audited(ctx, s, "images") as record:
        summary = link_images(s)
        record(summary.to_dict())
    _print_link(console, summary)
