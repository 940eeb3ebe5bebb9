"""Option aliases shared by the commands (typer `Annotated` types), so each flag reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Profile = Annotated[
    Optional[str],
    typer.Option("--profile", "-p", help="Profile name from configs/ or a path to a TOML file. [env: NIMCTL_PROFILE]"),
]
Name = Annotated[
    Optional[str],
    typer.Option("--name", "-n", help="Container name. [env: CONTAINER_NAME, NIMCTL_CONTAINER_NAME]"),
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout (humans still read stderr).")]
Timeout = Annotated[Optional[float], typer.Option("--timeout", help="Seconds to wait.", min=0)]
Image = Annotated[Optional[str], typer.Option("--image", help="Whole image reference. [env: IMG_NAME, NIMCTL_IMAGE]")]
Port = Annotated[Optional[int], typer.Option("--port", help="Host port the NIM is published on. [env: NIMCTL_PORT]")]
Host = Annotated[
    Optional[str],
    typer.Option(
        "--host", help="Host address to publish on; 127.0.0.1 by default since a NIM has no auth. [env: NIMCTL_HOST]"
    ),
]
Gpus = Annotated[Optional[str], typer.Option("--gpus", help="all | N | id,id | none. [env: NIMCTL_GPUS]")]
Runtime = Annotated[
    Optional[str],
    typer.Option("--runtime", help="Container runtime ('' for the engine's default). [env: NIMCTL_RUNTIME]"),
]
ShmSize = Annotated[Optional[str], typer.Option("--shm-size", help="Shared memory, e.g. 32GB. [env: NIMCTL_SHM_SIZE]")]
CacheDir = Annotated[
    Optional[Path],
    typer.Option("--cache-dir", help="Host model cache (never deleted). [env: LOCAL_NIM_CACHE, NIMCTL_CACHE_DIR]"),
]
MaxImages = Annotated[
    Optional[int],
    typer.Option("--max-images", help="NIM_MAX_IMAGES_PER_PROMPT for the NIM. [env: NIM_MAX_IMAGES_PER_PROMPT]"),
]
EnvPairs = Annotated[
    Optional[list[str]], typer.Option("--env", "-e", help="Extra container env KEY=VALUE (repeatable).")
]
Pull = Annotated[Optional[str], typer.Option("--pull", help="always | missing | never. [env: NIMCTL_PULL]")]
User = Annotated[
    Optional[str], typer.Option("--user", help="uid:gid for the container (default: yours). [env: NIMCTL_USER]")
]
