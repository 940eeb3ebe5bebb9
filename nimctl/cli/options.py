"""Option aliases shared by the commands (typer `Annotated` types), so each flag reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nimctl.env_names import ENV_PREFIX, env_help


def _env(field: str) -> str:
    # typer renders help as rich markup, where a bare "[env: ...]" is a tag and vanishes
    return "\\" + env_help(field)


Profile = Annotated[
    Optional[str],
    typer.Option(
        "--profile", "-p", help=f"Profile name from configs/ or a path to a TOML file. \\[env: {ENV_PREFIX}PROFILE]"
    ),
]
Name = Annotated[
    Optional[str],
    typer.Option("--name", "-n", help=f"Container name. {_env('container_name')}"),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout (humans still read stderr).")]
Timeout = Annotated[Optional[float], typer.Option("--timeout", help="Seconds to wait.", min=0)]
Image = Annotated[Optional[str], typer.Option("--image", help=f"Whole image reference. {_env('image')}")]
Port = Annotated[
    Optional[str],
    typer.Option("--port", help=f"Host port the NIM is published on, or auto (a free one). {_env('port')}"),
]
Host = Annotated[
    Optional[str],
    typer.Option(
        "--host", help=f"Host address to publish on; 127.0.0.1 by default since a NIM has no auth. {_env('host')}"
    ),
]
Gpus = Annotated[
    Optional[str],
    typer.Option("--gpus", help=f"all | N (the first N) | device=1 | device=0,2 | id,id | none. {_env('gpus')}"),
]
ShareGpus = Annotated[
    Optional[bool],
    typer.Option(
        "--share-gpus/--no-share-gpus",
        help=f"Start even if another nimctl container holds one of these GPUs. {_env('share_gpus')}",
        show_default=False,
    ),
]
Runtime = Annotated[
    Optional[str],
    typer.Option("--runtime", help=f"Container runtime ('' for the engine's default). {_env('runtime')}"),
]
ShmSize = Annotated[Optional[str], typer.Option("--shm-size", help=f"Shared memory, e.g. 32GB. {_env('shm_size')}")]
CacheDir = Annotated[
    Optional[Path],
    typer.Option("--cache-dir", help=f"Host model cache (never deleted). {_env('cache_dir')}"),
]
MaxImages = Annotated[
    Optional[int],
    typer.Option("--max-images", help=f"NIM_MAX_IMAGES_PER_PROMPT for the NIM. {_env('max_images_per_prompt')}"),
]
EnvPairs = Annotated[
    Optional[list[str]], typer.Option("--env", "-e", help="Extra container env KEY=VALUE (repeatable).")
]
Pull = Annotated[Optional[str], typer.Option("--pull", help=f"always | missing | never. {_env('pull')}")]
EngineUrl = Annotated[
    Optional[str],
    typer.Option(
        "--engine-url",
        help="Engine API: unix:///run/podman/podman.sock (Podman), ssh://user@host (remote); default: the "
        "profile's engine_url, DOCKER_HOST, DOCKER_CONTEXT, the docker config's current context, the local socket. "
        f"\\[env: {ENV_PREFIX}ENGINE_URL]",
    ),
]
User = Annotated[
    Optional[str], typer.Option("--user", help=f"uid:gid for the container (default: yours). {_env('user')}")
]
ModelProfile = Annotated[
    Optional[str],
    typer.Option(
        "--model-profile",
        help=f"NIM_MODEL_PROFILE for the NIM: a profile id or name from `nimctl profiles`. {_env('model_profile')}",
    ),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also print the container's own output lines.")]
