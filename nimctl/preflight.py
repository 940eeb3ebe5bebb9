"""Checks run before anything is pulled or created (and by `nimctl doctor`).

Each check returns a `Check`: pass, warn, fail or skip, with a hint for anything not passing.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from nimctl.engine.port import EnginePort
from nimctl.errors import EngineUnreachable, GpuRefused
from nimctl.gpu_share import SHARE_HINT, describe_holders, holders
from nimctl.settings import Settings
from nimctl.spec import build_spec, registry_of

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_engine(connect: Callable[[], EnginePort]) -> tuple[Check, EnginePort | None]:
    """Connect and ask the version: both go through engine_errors, so any failure is EngineUnreachable."""
    try:
        engine = connect()
        version = engine.version()
    except EngineUnreachable as exc:
        return Check("docker engine", FAIL, exc.message, exc.hint or ""), None
    where = engine.choice
    return Check("docker engine", PASS, f"reachable: {version}, {where.url} (from {where.source})"), engine


GPU_LINE = re.compile(r"^GPU \d+: .+", re.MULTILINE)  # `nvidia-smi -L`: "GPU 0: <name> (UUID: GPU-...)"
HOST_PROBE_TIMEOUT = 20.0


def check_gpu_support(settings: Settings, engine: EnginePort | None, *, reuse_evidence: bool = False) -> Check:
    """GPUs only from evidence: `nvidia-smi -L` in a throwaway container of the NIM image, else on
    the host (local engines only); with neither, "cannot verify" — never a pass on a runtime name.

    `reuse_evidence` (what `up` does): a passed probe of the same engine, image id and GPU request
    (nimctl.gpu_evidence) stands for a new one. Without matching evidence the probe runs; its pass
    is kept for next time, anything else drops what was kept. `doctor` always probes.
    """
    wants_gpu = settings.gpu_request.wanted
    runtime = settings.runtime or None
    if not wants_gpu and runtime in (None, "runc"):
        return Check("gpu support", SKIP, "no GPU requested (--gpus none)")
    if engine is None:
        return Check("gpu support", SKIP, "engine not reachable")
    info: dict | None = None  # the engine's info(), asked once: its runtimes and its ID
    if runtime and not engine.kind.is_podman:  # podman ignores --runtime: its GPUs are CDI devices
        info = engine.engine_info()
        runtimes = set((info.get("Runtimes") or {}).keys())
        if runtime not in runtimes:
            return Check(
                "gpu support",
                FAIL,
                f"the engine has no {runtime!r} runtime (it has: {', '.join(sorted(runtimes)) or 'none'})",
                "install the NVIDIA Container Toolkit, run `nvidia-ctk runtime configure --runtime=docker`, "
                "restart dockerd",
            )
    if not wants_gpu:
        return Check("gpu support", SKIP, f"runtime {runtime} present; no GPU requested (--gpus none)")
    image_id = engine.image_id(settings.image_reference)
    if image_id is not None:
        return _gpus_in_container_with_evidence(settings, engine, image_id, info, reuse=reuse_evidence)
    if engine.kind.is_local:
        return _gpus_on_host()
    return Check(
        "gpu support",
        WARN,
        f"cannot verify: {settings.image_reference} is not on the remote engine yet, to run nvidia-smi in",
        "pull the image first (`nimctl up` pulls it and stops at a failed GPU check), then rerun doctor",
    )


def _toolkit_hint(engine: EnginePort) -> str:
    if engine.kind.is_podman:
        return "generate the CDI spec on the engine host: nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"
    return "install the NVIDIA driver and Container Toolkit, then `nvidia-ctk runtime configure --runtime=docker`"


def _gpu_verdict(code: int, output: str, where: str, hint: str) -> Check:
    gpus = GPU_LINE.findall(output)
    if code == 0 and gpus:
        names = Counter(re.sub(r"^GPU \d+: | \(UUID: [^)]*\)$", "", line) for line in gpus)
        listed = ", ".join(f"{count} × {name}" for name, count in names.items())
        return Check("gpu support", PASS, f"{len(gpus)} GPU(s) {where}: {listed}")
    last = next((line for line in reversed(output.strip().splitlines()) if line.strip()), "no output")
    last = last.strip() if len(last.strip()) <= 200 else last.strip()[:200] + "…"  # one short line
    return Check("gpu support", FAIL, f"no GPU {where} (nvidia-smi exit {code}: {last})", hint)


def _gpus_in_container_with_evidence(
    settings: Settings, engine: EnginePort, image_id: str, info: dict | None, *, reuse: bool
) -> Check:
    """The probe in a throwaway container, or (`reuse`) the kept pass of an identical one."""
    from nimctl import gpu_evidence

    try:
        engine_id = str((info if info is not None else engine.engine_info()).get("ID") or "")
    except Exception:  # noqa: BLE001 - no identity, no evidence: the probe below still runs
        engine_id = ""
    key = gpu_evidence.make_key(
        gpu_evidence.engine_url(engine), engine_id, image_id, settings.gpu_request.normalized, settings.runtime
    )
    if reuse and (detail := gpu_evidence.lookup(key)) is not None:
        return Check("gpu support", PASS, f"{detail} (kept from an earlier probe: same engine, image and GPU request)")
    check = _gpus_in_container(settings, engine)
    gpu_evidence.record(key, check.status == PASS, check.detail)
    return check


def _gpus_in_container(settings: Settings, engine: EnginePort) -> Check:
    spec = build_spec(settings, "doctor")
    where = f"in a throwaway container of {spec.image} ({engine.kind.name})"
    try:
        code, output = engine.list_gpus(spec)
    except GpuRefused as exc:  # e.g. no GPU device driver, an unknown CDI device, no nvidia-smi put in
        if exc.message.startswith("the NVIDIA Container Toolkit"):  # the engine took the request: the toolkit did not
            return Check("gpu support", FAIL, exc.message, exc.hint or _toolkit_hint(engine))
        return Check("gpu support", FAIL, f"the engine refused the GPU request: {exc.message}", _toolkit_hint(engine))
    # Any other engine error (a name or value it refuses, the engine gone) propagates with its own
    # message and exit code: it is not a GPU problem.
    return _gpu_verdict(code, output, where, _toolkit_hint(engine))


def _gpus_on_host() -> Check:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return Check(
            "gpu support",
            WARN,
            "cannot verify: the NIM image is not here yet to run nvidia-smi in, and this host has no nvidia-smi",
            "install the NVIDIA driver; or pull the image and rerun doctor",
        )
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=HOST_PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("gpu support", WARN, f"cannot verify: nvidia-smi on this host failed ({exc})", "check the driver")
    return _gpu_verdict(done.returncode, done.stdout + done.stderr, "on this host", "check the NVIDIA driver")


def cache_is_empty(path: Path) -> bool:
    """Nothing in the cache dir (or no dir yet); only lists it, never changes it."""
    try:
        return next(path.iterdir(), None) is None
    except (FileNotFoundError, NotADirectoryError):
        return True
    except PermissionError:
        return False  # something is there that we cannot see: the cache check says the rest


def check_ngc_key(settings: Settings, needs_pull: bool) -> Check:
    """A NIM 1.x needs the key to download its model, whatever registry its image came from; so does
    a model-free NIM given an ngc:// source. A public 2.x image, an hf:// or a local model does not
    (a registry that wants credentials still gets them, or says so, at the pull).

    Without it, a filled cache still allows an offline start; an empty one cannot work.
    """
    if not settings.needs_key:
        why = (
            f"the model source {settings.model_path} needs no NGC key"
            if settings.model_path is not None
            else "this profile's container needs no key (needs_ngc_key = false)"
        )
        return Check("ngc key", SKIP, why)
    if settings.ngc_api_key is not None and settings.ngc_api_key.get_secret_value():
        return Check("ngc key", PASS, "NGC_API_KEY is set")
    hint = "export NGC_API_KEY=<your key from ngc.nvidia.com> (never put it in a profile file)"
    if cache_is_empty(settings.cache_dir):
        pulling = " (and the registry to pull)" if needs_pull and registry_of(settings.image_reference) else ""
        what = f"{settings.model_path} " if settings.model_path is not None else ""
        return Check(
            "ngc key",
            FAIL,
            f"NGC_API_KEY is not set; the NIM needs it{pulling} to download its model {what}into the empty cache "
            f"{settings.cache_dir}",
            hint,
        )
    return Check(
        "ngc key",
        WARN,
        f"NGC_API_KEY is not set: starting offline from the cache {settings.cache_dir}",
        "the NIM cannot download anything missing from the cache without it; " + hint,
    )


def _uid_gid(run_as: str) -> tuple[int, int]:
    uid, _, gid = run_as.partition(":")
    return int(uid), int(gid or uid)


def writable_by(path: Path, uid: int, gid: int) -> bool:
    """Would a process with uid:gid be able to create files in `path`? (root always can)"""
    if uid == 0:
        return True
    info = path.stat()
    mode = info.st_mode
    if info.st_uid == uid:
        return bool(mode & stat.S_IWUSR and mode & stat.S_IXUSR)
    if info.st_gid == gid:
        return bool(mode & stat.S_IWGRP and mode & stat.S_IXGRP)
    return bool(mode & stat.S_IWOTH and mode & stat.S_IXOTH)


def check_cache_dir(settings: Settings) -> Check:
    """The cache dir exists, or can be created, and the container's uid can write it. Creates nothing."""
    path = settings.cache_dir
    uid, gid = _uid_gid(settings.run_as)
    if not path.exists():
        parent = nearest_existing(path)
        if parent.is_dir() and writable_by(parent, os.getuid(), os.getgid()):
            return Check("cache dir", PASS, f"{path} will be created for {uid}:{gid}")
        return Check(
            "cache dir", FAIL, f"cannot create {path}", f"create it yourself and chown it to {settings.run_as}"
        )
    if not path.is_dir():
        return Check("cache dir", FAIL, f"{path} is not a directory", "point LOCAL_NIM_CACHE at a directory")
    if not writable_by(path, uid, gid):
        return Check(
            "cache dir",
            FAIL,
            f"{path} is not writable by uid {uid} (the container's user)",
            f"sudo chown -R {uid}:{gid} {path}  (or choose --cache-dir)",
        )
    return Check("cache dir", PASS, f"{path} writable by {uid}:{gid}")


def ensure_cache_dir(settings: Settings) -> None:
    """Create the cache dir if missing (never touching what is in it), owned by the container's user."""
    path = settings.cache_dir
    if path.is_dir():
        return
    path.mkdir(parents=True)
    uid, gid = _uid_gid(settings.run_as)
    if os.getuid() == 0 and (uid, gid) != (0, 0):
        os.chown(path, uid, gid)  # a root-run nimctl starting a NIM as another user


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host or "0.0.0.0", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def pick_free_port(host: str) -> int:
    """A port free on `host` now (the kernel's pick for port 0), for `--port auto`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host or "0.0.0.0", 0))
        return sock.getsockname()[1]


def check_port(settings: Settings, held_by_own_container: bool) -> Check:
    where = f"{settings.host}:{settings.port}"
    if settings.port == "auto":
        return Check("host port", PASS, f"{where}: a free port is picked when the container is created")
    if held_by_own_container:
        return Check("host port", PASS, f"{where} is held by this deployment's own container")
    try:
        free = port_is_free(settings.host, settings.port)
    except OSError as exc:
        return Check("host port", FAIL, f"cannot bind {where}: {exc.strerror}", "check --host")
    if not free:
        return Check("host port", FAIL, f"{where} is already in use", "stop what uses it or choose --port")
    return Check("host port", PASS, f"{where} is free")


def check_disk(settings: Settings) -> Check:
    path = nearest_existing(settings.cache_dir)
    free_gb = shutil.disk_usage(path).free / 1e9
    if free_gb < settings.min_free_disk_gb:
        return Check(
            "free disk",
            WARN,
            f"{free_gb:.0f} GB free at {path}, under {settings.min_free_disk_gb:.0f} GB",
            "a first start downloads the model into the cache: free space or choose --cache-dir",
        )
    return Check("free disk", PASS, f"{free_gb:.0f} GB free at {path}")


def check_gpu_sharing(settings: Settings, engine: EnginePort | None) -> Check:
    """Would `up` find its GPUs held by another nimctl container? (`up` refuses that unless --share-gpus)"""
    request = settings.gpu_request
    if not request.wanted:
        return Check("gpu sharing", SKIP, "no GPU requested (--gpus none)")
    if engine is None:
        return Check("gpu sharing", SKIP, "engine not reachable")
    taken = holders(request, settings.container_name, engine.managed_containers())
    if not taken:
        return Check("gpu sharing", PASS, f"gpus {request.normalized}: no other nimctl container holds them")
    if settings.share_gpus:
        return Check("gpu sharing", WARN, describe_holders(request, taken) + "; shared (--share-gpus)", SHARE_HINT)
    return Check("gpu sharing", FAIL, describe_holders(request, taken), SHARE_HINT)


def run_checks(
    settings: Settings,
    engine: EnginePort | None,
    *,
    needs_pull: bool,
    port_held_by_own_container: bool,
    reuse_gpu_evidence: bool = False,
) -> list[Check]:
    if engine is not None and not engine.kind.is_local:  # the cache, the port and the disk are over there
        where = f"on the engine's host ({engine.kind.describe()}): not checked from here"
        host_checks = [Check(name, SKIP, where) for name in ("cache dir", "host port", "free disk")]
    else:
        host_checks = [
            check_cache_dir(settings),
            check_port(settings, port_held_by_own_container),
            check_disk(settings),
        ]
    gpu = check_gpu_support(settings, engine, reuse_evidence=reuse_gpu_evidence)
    return [gpu, check_ngc_key(settings, needs_pull), *host_checks]
