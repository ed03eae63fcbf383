"""The issuer's HTTP service: FastAPI app, configuration, error mapping.

``create_app(issuer, config)`` builds the ASGI app (:mod:`.app`); ``load_config(path)``
reads ``ISSUER.toml`` (:mod:`.config`); ``build_issuer(config)`` makes the
:class:`vcwallet.issuer.Issuer` it describes; :mod:`.errors` maps every failure to an
HTTP status and a JSON body, in one place. ``vcwallet serve --config ISSUER.toml`` runs
it under uvicorn.
"""

from __future__ import annotations

from .app import BodyLimit, create_app
from .config import Employer, ServiceConfig, build_issuer, load_config, parse_config
from .errors import STATUS_FOR_ERROR, status_for

__all__ = [
    "STATUS_FOR_ERROR",
    "BodyLimit",
    "Employer",
    "ServiceConfig",
    "build_issuer",
    "create_app",
    "load_config",
    "parse_config",
    "status_for",
]
