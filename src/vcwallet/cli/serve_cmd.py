"""``vcwallet serve --config ISSUER.toml``: run an issuer's HTTP service under uvicorn."""

from __future__ import annotations

import click

from ._common import EXIT_USAGE, CliFailure


@click.command("serve")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, exists=True),
              help="The issuer's TOML configuration (see examples/issuer.toml).")
@click.option("--host", default=None, help="Override [server].host.")
@click.option("--port", default=None, type=click.IntRange(0, 65535),
              help="Override [server].port.")
@click.option("--log-level", default="info",
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(config_path: str, host: str | None, port: int | None, log_level: str) -> None:
    """Serve an issuer: VC API issue/verify/status, did.json, status lists, the ledger.

    Keys are read from the configured key files (passphrase from VCWALLET_PASSPHRASE).
    Stop with Ctrl-C.
    """
    import dataclasses

    from ..service import build_issuer, create_app, load_config
    from ..service.runner import serve_forever

    config = load_config(config_path)
    if host is not None or port is not None:
        config = dataclasses.replace(config, host=host or config.host,
                                     port=config.port if port is None else port)
    if config.port == 0 and not config.base_url:
        raise CliFailure(EXIT_USAGE, "port 0 needs an explicit [issuer].base_url")
    issuer = build_issuer(config)
    app = create_app(issuer, config)
    click.echo(f"vcwallet: serving {issuer.name} as {issuer.did} at {config.public_url}",
               err=True)
    try:
        serve_forever(app, host=config.host, port=config.port, log_level=log_level)
    finally:
        issuer.close()
