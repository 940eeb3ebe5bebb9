"""Build the simulator image offline: a FROM-scratch image holding the host's Debian python3.11.

No base image can be pulled on the machines nimctl is developed and tested on, so the root
filesystem is assembled from the host: the interpreter, the shared libraries it and its extension
modules link against (as `ldd` lists them, with the loader), a pruned standard library, a passwd
entry for the non-root user, and the server package (`sim/`, stdlib only). It is sent to the
engine as a tar build context by nimctl.engine.simulator_build (the engine layer: the only docker-py
user); this module is the recipe, its hash and the context, without docker-py.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

SIM_IMAGE = "nimctl-sim:latest"
HASH_LABEL = "io.nimctl.sim.hash"
TITLE_LABEL = "org.opencontainers.image.title"
IMAGE_TITLE = "nimctl NIM simulator"

HOST_PYTHON = Path("/usr/bin/python3.11")
HOST_STDLIB = Path("/usr/lib/python3.11")
SERVER_PACKAGE = Path(__file__).with_name("sim")  # stdlib only; copied to /opt/nim-sim/sim
SIM_DIR = "/opt/nim-sim"
NVIDIA_SMI = "/usr/bin/nvidia-smi"  # the stand-in (sim/nvidia_smi.py), where NVIDIA's toolkit puts the real one
SIM_UID = SIM_GID = 1000

# top-level entries of the standard library a server never needs
PRUNED_STDLIB = (
    "test",
    "config-3.11-*",
    "idlelib",
    "tkinter",
    "turtledemo",
    "lib2to3",
    "ensurepip",
    "pydoc_data",
    "distutils",
)
# extension modules left out: test helpers, and terminal/database modules whose libraries we do not ship
PRUNED_EXTENSIONS = (
    "_test*",
    "_ctypes_test.*",
    "_xx*",
    "xxlimited*",
    "nis.*",
    "_dbm.*",
    "_gdbm.*",
    "_curses*",
    "readline.*",
    "_tkinter.*",
)

DOCKERFILE = f"""\
FROM scratch
COPY rootfs/ /
COPY --chown={SIM_UID}:{SIM_GID} cache/ /opt/nim/.cache/
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/opt/nim NIM_CACHE_PATH=/opt/nim/.cache PYTHONPATH={SIM_DIR}
WORKDIR /opt/nim
USER {SIM_UID}:{SIM_GID}
EXPOSE 8000
ENTRYPOINT ["/usr/bin/python3.11", "-u", "-m", "sim"]
"""

PASSWD = f"root:x:0:0:root:/root:/sbin/nologin\nnim:x:{SIM_UID}:{SIM_GID}:NIM:/opt/nim:/sbin/nologin\n"
GROUP = f"root:x:0:\nnim:x:{SIM_GID}:\n"


def server_sources() -> list[Path]:
    """The server package's modules: exactly what is copied into the image."""
    return sorted(SERVER_PACKAGE.glob("*.py"))


def recipe_hash() -> str:
    """What the image is built from: every copied server module (name and bytes) and this recipe
    (this file, Dockerfile included)."""
    digest = hashlib.sha256()
    for source in [*server_sources(), Path(__file__)]:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def require_host_python() -> None:
    if not HOST_PYTHON.is_file() or not HOST_STDLIB.is_dir():
        raise RuntimeError(
            f"{HOST_PYTHON} (with {HOST_STDLIB}) is needed to build the simulator image: apt-get install python3.11"
        )


def linked_libraries(binary: Path) -> list[Path]:
    """Shared libraries (and the loader) `ldd` resolves for a binary, at the paths it names."""
    output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    libraries = []
    for line in output.splitlines():
        fields = line.split()
        if "=>" in fields:
            target = fields[fields.index("=>") + 1]
            if target.startswith("/"):
                libraries.append(Path(target))
        elif fields and fields[0].startswith("/"):  # the loader, e.g. /lib64/ld-linux-x86-64.so.2
            libraries.append(Path(fields[0]))
    return libraries


def _ignore_pruned(directory: str, names: list[str]) -> set[str]:
    here = Path(directory)
    ignored: set[str] = set()
    if here == HOST_STDLIB:
        ignored.update(n for n in names if any(fnmatch.fnmatch(n, p) for p in PRUNED_STDLIB))
    if here == HOST_STDLIB / "lib-dynload":
        ignored.update(n for n in names if any(fnmatch.fnmatch(n, p) for p in PRUNED_EXTENSIONS))
    return ignored


def _copy_into(rootfs: Path, source: Path) -> None:
    """Copy a file to the same absolute path under rootfs, following symlinks (scratch has none)."""
    target = rootfs / source.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def assemble_rootfs(rootfs: Path) -> None:
    """Lay out the image's root filesystem (everything but the cache directory)."""
    stdlib = rootfs / HOST_STDLIB.relative_to("/")
    # symlinks=False: dereference, e.g. Debian's sitecustomize.py -> /etc/python3.11/
    shutil.copytree(HOST_STDLIB, stdlib, symlinks=False, ignore=_ignore_pruned)

    binaries = [HOST_PYTHON, *sorted((stdlib / "lib-dynload").glob("*.so"))]
    libraries = {library for binary in binaries for library in linked_libraries(binary)}
    for source in [HOST_PYTHON, *sorted(libraries)]:
        _copy_into(rootfs, source)

    etc = rootfs / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    tmp = rootfs / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    package = rootfs / SIM_DIR.lstrip("/") / SERVER_PACKAGE.name
    package.mkdir(parents=True)
    for source in server_sources():
        shutil.copyfile(source, package / source.name)
        (package / source.name).chmod(0o644)
    smi = rootfs / NVIDIA_SMI.lstrip("/")
    shutil.copyfile(SERVER_PACKAGE / "nvidia_smi.py", smi)
    smi.chmod(0o755)


def build_context(workdir: Path) -> io.BufferedReader:
    """The tar build context: Dockerfile, rootfs/ and an empty cache/ (its owner set by COPY --chown)."""
    context = workdir / "context"
    assemble_rootfs(context / "rootfs")
    (context / "cache").mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    tar_path = workdir / "context.tar"
    with tarfile.open(tar_path, "w") as tar:
        for entry in sorted(context.iterdir()):
            tar.add(entry, arcname=entry.name)
    return tar_path.open("rb")


def image_labels() -> dict[str, str]:
    """The labels the built image carries: its recipe hash (`is_current` compares it) and a title."""
    return {HASH_LABEL: recipe_hash(), TITLE_LABEL: IMAGE_TITLE}


def is_current(labels: dict[str, str] | None) -> bool:
    """Whether an image with these labels was built from this checkout's recipe (else: rebuild it)."""
    return (labels or {}).get(HASH_LABEL) == recipe_hash()
