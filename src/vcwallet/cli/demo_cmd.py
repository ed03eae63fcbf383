"""``vcwallet demo``: the short tour on embedded defaults."""

from __future__ import annotations

import click

from ..demo import run_demo
from ._common import EXIT_FAILED, CliFailure


@click.command("demo")
def demo() -> None:
    """Issue the four credential types, verify them, and catch a forgery (offline)."""
    if not run_demo(click.echo):
        raise CliFailure(EXIT_FAILED, "demo did not go as expected")
