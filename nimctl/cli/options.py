"""Option aliases shared by the commands (typer `Annotated` types), so each flag reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nimctl.env_names import ENV_PREFIX, env_help

Profile = Annotated[
    Optional[str],
    typer.Option(
        "--profile", "-p", help=f"Profile name from configs/ or a path to a TOML file. [env: {ENV_PREFIX}PROFILE]"
    ),
]
Name = Annotated[
    Optional[str],
    typer.Option("--name", "-n", help=f"Container name. {env_help('container_name')}"),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout (humans still read stderr).")]
Timeout = Annotated[Optional[float], typer.Option("--timeout", help="Seconds to wait.", min=0)]
Image = Annotated[Optional[str], typer.Option("--image", help=f"Whole image reference. {env_help('image')}")]
Port = Annotated[Optional[int], typer.Option("--port", help=f"Host port the NIM is published on. {env_help('port')}")]
Host = Annotated[
    Optional[str],
    typer.Option(
        "--host", help=f"Host address to publish on; 127.0.0.1 by default since a NIM has no auth. {env_help('host')}"
    ),
]
Gpus = Annotated[Optional[str], typer.Option("--gpus", help=f"all | N | id,id | none. {env_help('gpus')}")]
Runtime = Annotated[
    Optional[str],
    typer.Option("--runtime", help=f"Container runtime ('' for the engine's default). {env_help('runtime')}"),
]
ShmSize = Annotated[Optional[str], typer.Option("--shm-size", help=f"Shared memory, e.g. 32GB. {env_help('shm_size')}")]
CacheDir = Annotated[
    Optional[Path],
    typer.Option("--cache-dir", help=f"Host model cache (never deleted). {env_help('cache_dir')}"),
]
MaxImages = Annotated[
    Optional[int],
    typer.Option("--max-images", help=f"NIM_MAX_IMAGES_PER_PROMPT for the NIM. {env_help('max_images_per_prompt')}"),
]
EnvPairs = Annotated[
    Optional[list[str]], typer.Option("--env", "-e", help="Extra container env KEY=VALUE (repeatable).")
]
Pull = Annotated[Optional[str], typer.Option("--pull", help=f"always | missing | never. {env_help('pull')}")]
User = Annotated[
    Optional[str], typer.Option("--user", help=f"uid:gid for the container (default: yours). {env_help('user')}")
]
