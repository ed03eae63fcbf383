"""``vcwallet verify VP --challenge C --domain D --online``: the employer's verification with
the issuers (see :mod:`vcwallet.verifier`), printed as a report (en / ko) or JSON."""

from __future__ import annotations

import json
from datetime import datetime

import click

from ..errors import MalformedDocumentError
from ._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliFailure


def verify_online(data: bytes, challenge: str | None, domain: str | None, *,
                  trust_file: str | None, checkpoints: str | None, did_docs: tuple[str, ...],
                  now: datetime | None, lang: str, as_json: bool) -> None:
    """Run the online verification and stop with exit 0 (verified), 1 (not) or 2 (bad input)."""
    from .. import report
    from ..policy import TrustPolicy
    from ..presentations import is_presentation
    from ..verifier import CheckpointMemory, Verifier
    from .credential_cmd import static_resolver_from_files

    if not is_presentation(data):
        raise CliFailure(EXIT_USAGE, "--online verifies a presentation (a VerifiablePresentation "
                                     "JSON document or a vp+jwt)")
    if not challenge or not domain:
        raise CliFailure(EXIT_USAGE, "a presentation is verified with --challenge and --domain "
                                     "(the values the verifier sent)")
    try:
        policy = TrustPolicy.load(trust_file) if trust_file else TrustPolicy([])
        memory = CheckpointMemory(checkpoints) if checkpoints else None
    except MalformedDocumentError as exc:
        raise CliFailure(EXIT_USAGE, str(exc)) from None
    if trust_file is None:
        click.echo("note: no --trust policy given, so no issuer is trusted", err=True)
    resolver = static_resolver_from_files(did_docs) if did_docs else None
    with Verifier(policy=policy, resolver=resolver, now=now, checkpoint_store=memory) as verifier:
        try:
            result = verifier.verify_presentation(data, challenge=challenge, domain=domain)
        except MalformedDocumentError as exc:
            raise CliFailure(EXIT_USAGE, str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_json(result, lang=lang), ensure_ascii=False, indent=2))
    else:
        click.echo(report.render(result, lang=lang), nl=False)
    raise CliFailure(EXIT_OK if result.verified else EXIT_FAILED)
