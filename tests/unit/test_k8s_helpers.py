"""Rendering helpers shared by the k8s tests (no tests here): fixed settings, a clean environment."""

from __future__ import annotations

from typing import Any

from nimctl.k8s.render import RenderOptions, render, to_text
from nimctl.settings import LoadedSettings, load_settings

# What the golden files pin: one flag set per shipped profile (the default profile's `--gpus all`
# has no meaning in a cluster, so it renders with a count).
GOLDEN_CASES: dict[str, dict[str, Any]] = {
    "default": {"profile": None, "flags": {"gpus": "2"}},
    "sim": {"profile": "sim", "flags": {}},
}


def load(
    flags: dict[str, Any] | None = None, profile: str | None = None, environ: dict[str, str] | None = None
) -> LoadedSettings:
    return load_settings(flags or {}, profile=profile, environ=environ or {})


def documents(
    flags: dict[str, Any] | None = None,
    profile: str | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(NIMCache, NIMService) as the dictionaries kubectl would read."""
    loaded = load(flags, profile, environ)
    cache, service = render(loaded.settings, loaded.profile.name, RenderOptions(**options))
    return cache.to_document(), service.to_document()


def rendered_text(case: str, output: str = "yaml") -> str:
    loaded = load(GOLDEN_CASES[case]["flags"], GOLDEN_CASES[case]["profile"])
    return to_text(render(loaded.settings, loaded.profile.name, RenderOptions()), output, loaded.settings)
