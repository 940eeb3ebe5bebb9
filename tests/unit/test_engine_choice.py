"""choose_engine: the docker CLI's order, as plain data (the docker config lives in a temporary DOCKER_CONFIG)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nimctl.engine.choice import LOCAL_SOCKET, EngineChoice, Source, choose_engine
from nimctl.errors import ConfigError

PODMAN = "unix:///run/podman/podman.sock"


def write_context(config: Path, name: str, host: str, *, current: bool = False) -> None:
    """A context as `docker context create NAME --docker host=HOST` writes it (and `docker context use`)."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}))
    if current:
        (config / "config.json").write_text(json.dumps({"auths": {}, "currentContext": name}))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = tmp_path / "docker-config"
    config.mkdir()
    write_context(config, "ctx-env", "tcp://10.0.0.2:2375")
    write_context(config, "ctx-current", "ssh://me@gpu-box", current=True)
    return config


def everything(config: Path) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "tcp://10.0.0.1:2375", "DOCKER_CONTEXT": "ctx-env"}


# (setting, its source, environment minus...) -> (url, source phrase, kind): each level beats the ones after it
LEVELS = [
    ("unix:///flag.sock", "flag", (), "unix:///flag.sock", "--engine-url", Source.FLAG),
    ("unix:///env.sock", "env NIMCTL_ENGINE_URL", (), "unix:///env.sock", "NIMCTL_ENGINE_URL", Source.NIMCTL_ENV),
    (PODMAN, "profile sim.toml", (), PODMAN, "profile sim.toml", Source.PROFILE),
    (None, "default", (), "tcp://10.0.0.1:2375", "DOCKER_HOST", Source.DOCKER_HOST),
    (None, "default", ("DOCKER_HOST",), "tcp://10.0.0.2:2375", "DOCKER_CONTEXT=ctx-env", Source.DOCKER_CONTEXT),
    (
        None,
        "default",
        ("DOCKER_HOST", "DOCKER_CONTEXT"),
        "ssh://me@gpu-box",
        "current docker context ctx-current",
        Source.CURRENT_CONTEXT,
    ),
]


@pytest.mark.parametrize(("setting", "origin", "unset", "url", "phrase", "kind"), LEVELS)
def test_each_level_wins_over_the_ones_after_it(config, setting, origin, unset, url, phrase, kind) -> None:
    environ = {name: value for name, value in everything(config).items() if name not in unset}
    choice = choose_engine(setting, origin, environ)
    assert (choice.url, choice.source, choice.kind) == (url, phrase, kind)


def test_nothing_set_is_the_local_socket(tmp_path: Path) -> None:
    choice = choose_engine(None, "default", {"DOCKER_CONFIG": str(tmp_path / "none")})
    assert choice == EngineChoice(url=LOCAL_SOCKET, source="the local socket", kind=Source.LOCAL)


def test_the_default_context_is_the_local_socket(config: Path) -> None:
    assert choose_engine(None, "default", {"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "default"}).url == (
        LOCAL_SOCKET
    )
    (config / "config.json").write_text(json.dumps({"currentContext": "default"}))
    assert choose_engine(None, "default", {"DOCKER_CONFIG": str(config)}).kind is Source.LOCAL


def test_the_docker_config_defaults_to_home_dot_docker(tmp_path: Path) -> None:
    write_context(tmp_path / ".docker", "box", PODMAN, current=True)
    choice = choose_engine(None, "default", {"HOME": str(tmp_path)})
    assert (choice.url, choice.context) == (PODMAN, "box")


def test_an_empty_docker_host_counts_as_unset(config: Path) -> None:
    choice = choose_engine(None, "default", {"DOCKER_CONFIG": str(config), "DOCKER_HOST": ""})
    assert choice.kind is Source.CURRENT_CONTEXT


@pytest.mark.parametrize("variable", [True, False])
def test_an_unknown_context_is_a_usage_error_listing_the_known_ones(config: Path, variable: bool) -> None:
    environ = {"DOCKER_CONFIG": str(config)}
    if variable:
        environ["DOCKER_CONTEXT"] = "nope"
    else:
        (config / "config.json").write_text(json.dumps({"currentContext": "nope"}))
    with pytest.raises(ConfigError) as caught:
        choose_engine(None, "default", environ)
    assert caught.value.exit_code == 2 and "'nope'" in caught.value.message
    assert ("DOCKER_CONTEXT" in caught.value.message) is variable
    assert "default, ctx-current, ctx-env" in caught.value.hint


def test_a_broken_docker_config_is_a_usage_error(config: Path) -> None:
    (config / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        choose_engine(None, "default", {"DOCKER_CONFIG": str(config)})


def test_a_context_with_tls_material_gets_it(config: Path) -> None:
    tls = config / "contexts" / "tls" / hashlib.sha256(b"ctx-env").hexdigest() / "docker"
    tls.mkdir(parents=True)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tls / name).write_text("x")
    choice = choose_engine(None, "default", {"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "ctx-env"})
    assert choice.tls is not None and choice.tls.verify and choice.tls.ca_cert == str(tls / "ca.pem")
    assert choice.tls.client_cert == (str(tls / "cert.pem"), str(tls / "key.pem"))


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (Source.FLAG, "--engine-url"),
        (Source.NIMCTL_ENV, "NIMCTL_ENGINE_URL"),
        (Source.PROFILE, "engine_url in the profile sim.toml"),
        (Source.DOCKER_HOST, "DOCKER_HOST"),
        (Source.DOCKER_CONTEXT, "docker context inspect box"),
        (Source.CURRENT_CONTEXT, "docker context inspect box"),
        (Source.LOCAL, "dockerd"),
    ],
)
def test_the_hint_fits_how_the_engine_was_chosen(kind: Source, words: str) -> None:
    source = "profile sim.toml" if kind is Source.PROFILE else "x"
    context = "box" if kind in (Source.DOCKER_CONTEXT, Source.CURRENT_CONTEXT) else None
    hint = EngineChoice(url="unix:///nope.sock", source=source, kind=kind, context=context).unreachable_hint()
    assert words in hint
    if kind in (Source.FLAG, Source.PROFILE, Source.DOCKER_CONTEXT, Source.CURRENT_CONTEXT):
        assert "DOCKER_HOST" not in hint  # the old hint said to set DOCKER_HOST whatever the user had chosen
