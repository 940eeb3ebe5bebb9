"""Which engine a command talks to, chosen as the docker CLI chooses it.

`--engine-url` > `NIMCTL_ENGINE_URL` > the profile's `engine_url` (these three arrive merged in the
settings, with their source) > `DOCKER_HOST` > `DOCKER_CONTEXT` > the docker config's current
context (`$DOCKER_CONFIG/config.json`, default `~/.docker`) > the local socket.

No docker-py here: plain data in (the setting, its source, the environment, the docker config
files), an `EngineChoice` out, so every level is unit-tested without an engine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from nimctl.docker_config import current_context, docker_config_dir
from nimctl.errors import ConfigError

LOCAL_SOCKET = "unix:///var/run/docker.sock"  # docker-py's and the docker CLI's default on Linux
DEFAULT_CONTEXT = "default"  # the docker CLI's built-in context: DOCKER_HOST, else the local socket


class Source(Enum):
    """How the engine was chosen; decides the hint when it cannot be reached."""

    FLAG = "flag"
    NIMCTL_ENV = "nimctl env"
    PROFILE = "profile"
    DOCKER_HOST = "docker host"
    DOCKER_CONTEXT = "docker context env"
    CURRENT_CONTEXT = "current context"
    LOCAL = "local socket"


@dataclass(frozen=True)
class EngineChoice:
    url: str  # the engine's API URL: unix://..., tcp://..., ssh://user@host
    source: str  # a human phrase: "--engine-url", "profile sim.toml", "DOCKER_CONTEXT=ctx", ...
    kind: Source = Source.LOCAL
    context: str | None = None  # the docker context it came from, if any
    tls: TlsFiles | None = None  # a context's TLS material, or DOCKER_TLS_VERIFY / DOCKER_CERT_PATH

    @property
    def is_ssh(self) -> bool:
        return self.url.startswith("ssh://")

    def unreachable_hint(self) -> str:
        """What to check, given how this engine was chosen."""
        kind = self.kind
        if kind is Source.FLAG:
            return f"check --engine-url {self.url} (is the engine running there?)"
        if kind is Source.NIMCTL_ENV:
            return f"check NIMCTL_ENGINE_URL={self.url}, or unset it to use DOCKER_HOST / the docker context"
        if kind is Source.PROFILE:
            return f"check engine_url in the {self.source} (or override it with --engine-url)"
        if kind is Source.DOCKER_HOST:
            return f"check DOCKER_HOST={self.url} (is the engine running there?), or unset it"
        if kind in (Source.DOCKER_CONTEXT, Source.CURRENT_CONTEXT):
            return f"check the docker context: `docker context inspect {self.context}` (or choose another one)"
        return "start the engine (`sudo systemctl start docker`, or `dockerd &`), or point DOCKER_HOST at one"


@dataclass(frozen=True)
class TlsFiles:
    verify: bool
    ca_cert: str | None = None
    client_cert: tuple[str, str] | None = None


def _setting_source(source: str) -> tuple[Source, str]:
    """settings' origin ("flag", "env NAME", "profile FILE") → (kind, human phrase)."""
    if source.startswith("env "):
        return Source.NIMCTL_ENV, source.removeprefix("env ")
    if source.startswith("profile "):
        return Source.PROFILE, source
    return Source.FLAG, "--engine-url"


def context_digest(name: str) -> str:
    """The docker CLI keeps a context under the sha256 of its name."""
    return hashlib.sha256(name.encode()).hexdigest()


def known_contexts(config_dir: Path) -> list[str]:
    names = set()
    for meta in (config_dir / "contexts" / "meta").glob("*/meta.json"):
        try:
            name = json.loads(meta.read_text()).get("Name")
        except (OSError, ValueError):
            continue
        if isinstance(name, str) and name != DEFAULT_CONTEXT:
            names.add(name)
    return [DEFAULT_CONTEXT, *sorted(names)]


def context_endpoint(config_dir: Path, name: str, how: str) -> tuple[str, TlsFiles | None]:
    """The docker endpoint (URL, TLS) of context `name`; `how` says where the name came from, for errors."""
    digest = context_digest(name)
    meta_path = config_dir / "contexts" / "meta" / digest / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        known = ", ".join(known_contexts(config_dir))
        raise ConfigError(
            f"docker context {name!r} ({how}) does not exist in {config_dir}",
            hint=f"known contexts: {known}; `docker context ls` lists them",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read docker context {name!r} ({meta_path}): {exc}", hint="`docker context ls`"
        ) from None
    endpoint = (meta.get("Endpoints") or {}).get("docker") or {}
    url = str(endpoint.get("Host") or "") or LOCAL_SOCKET
    tls_dir = config_dir / "contexts" / "tls" / digest / "docker"
    files = {name: tls_dir / name for name in ("ca.pem", "cert.pem", "key.pem")}
    skip_verify = bool(endpoint.get("SkipTLSVerify"))
    tls = None
    if any(path.is_file() for path in files.values()) or (skip_verify and url.startswith("tcp://")):
        tls = TlsFiles(
            verify=not skip_verify,
            ca_cert=str(files["ca.pem"]) if files["ca.pem"].is_file() else None,
            client_cert=(str(files["cert.pem"]), str(files["key.pem"]))
            if files["cert.pem"].is_file() and files["key.pem"].is_file()
            else None,
        )
    return url, tls


def _docker_host_tls(environ: Mapping[str, str]) -> TlsFiles | None:
    """DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, as the docker CLI reads them with DOCKER_HOST."""
    verify = environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = environ.get("DOCKER_CERT_PATH")
    if not verify and not cert_path:
        return None
    directory = Path(cert_path).expanduser() if cert_path else docker_config_dir(environ)
    cert, key, ca = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    return TlsFiles(
        verify=verify,
        ca_cert=str(ca) if verify else None,
        client_cert=(str(cert), str(key)) if cert.is_file() and key.is_file() else None,
    )


def choose_engine(
    setting: str | None,
    setting_source: str,
    environ: Mapping[str, str],
) -> EngineChoice:
    """The engine to use, and why: `setting`/`setting_source` are the merged `engine_url` setting
    (flag > NIMCTL_ENGINE_URL > profile) and where it came from (LoadedSettings.sources)."""
    if setting:
        kind, phrase = _setting_source(setting_source)
        return EngineChoice(url=setting, source=phrase, kind=kind)
    if environ.get("DOCKER_HOST"):
        return EngineChoice(
            url=environ["DOCKER_HOST"], source="DOCKER_HOST", kind=Source.DOCKER_HOST, tls=_docker_host_tls(environ)
        )
    config_dir = docker_config_dir(environ)
    if environ.get("DOCKER_CONTEXT"):
        name, kind, phrase = environ["DOCKER_CONTEXT"], Source.DOCKER_CONTEXT, "DOCKER_CONTEXT={}"
    else:
        name, kind, phrase = current_context(config_dir), Source.CURRENT_CONTEXT, "current docker context {}"
    if name and name != DEFAULT_CONTEXT:
        how = "from DOCKER_CONTEXT" if kind is Source.DOCKER_CONTEXT else "the docker config's current context"
        url, tls = context_endpoint(config_dir, name, how)
        return EngineChoice(url=url, source=phrase.format(name), kind=kind, context=name, tls=tls)
    return EngineChoice(url=LOCAL_SOCKET, source="the local socket", kind=Source.LOCAL)
