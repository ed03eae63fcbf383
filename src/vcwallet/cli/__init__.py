"""The ``vcwallet`` command. A stable contract: other tools script it.

Exit codes: 0 success / verified, 1 verification failed (or audit found a problem),
2 unreadable input or wrong usage. Every error is one line on stderr, never a traceback.
Each command group lives in its own module here and uses only the public library API.
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import VcwalletError
from ._common import EXIT_USAGE, CliFailure


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vcwallet")
def vcwallet() -> None:
    """Issue, hold, present and verify W3C Verifiable Credentials."""


def _register() -> None:
    # Each line adds one command group; modules are independent of each other.
    from . import credential_cmd, demo_cmd, key_cmd, ledger_cmd, serve_cmd, wallet_cmd

    vcwallet.add_command(key_cmd.key)
    vcwallet.add_command(ledger_cmd.ledger)
    vcwallet.add_command(credential_cmd.issue_command)
    vcwallet.add_command(credential_cmd.verify_command)
    vcwallet.add_command(credential_cmd.contexts)
    vcwallet.add_command(demo_cmd.demo)
    vcwallet.add_command(serve_cmd.serve)
    vcwallet.add_command(wallet_cmd.wallet)
    vcwallet.add_command(wallet_cmd.present)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the command, turn every failure into one line + exit code."""
    _register()
    try:
        vcwallet.main(args=argv, prog_name="vcwallet", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("vcwallet: aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"vcwallet: {exc.format_message()}", err=True)
        return EXIT_USAGE
    except CliFailure as exc:
        if exc.message:
            click.echo(f"vcwallet: {exc.message}", err=True)
        return exc.exit_code
    except VcwalletError as exc:
        click.echo(f"vcwallet: {exc}", err=True)
        return EXIT_USAGE
    except OSError as exc:
        click.echo(f"vcwallet: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("vcwallet: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: still one line, unless the user asks for the traceback
        if os.environ.get("VCWALLET_DEBUG"):
            raise
        click.echo(f"vcwallet: internal error ({type(exc).__name__}); "
                   "set VCWALLET_DEBUG=1 for details", err=True)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
