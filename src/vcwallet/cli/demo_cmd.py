"""``vcwallet demo``: the whole story on embedded defaults (SQLite, loopback HTTP)."""

from __future__ import annotations

import click

from ..demo import run_demo
from ._common import EXIT_FAILED, CliFailure


@click.command("demo")
@click.option("--lang", type=click.Choice(["en", "ko"]), default="en", show_default=True,
              help="Language of the verifiers' reports.")
def demo(lang: str) -> None:
    """Three issuers, a job seeker's wallet, an employer and an insurer, on one machine.

    Issues a diploma, a transcript, a badge and a battery report; the wallet presents them;
    the employer verifies with each issuer; the university revokes the transcript and the
    next verification reports it. Everything runs on 127.0.0.1 and is removed at the end.
    """
    if not run_demo(click.echo, lang=lang):
        raise CliFailure(EXIT_FAILED, "demo did not go as expected")
