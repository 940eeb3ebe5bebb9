"""The rules every user value meets before nimctl acts on it (README "Settings": the table of rules).

Stdlib only, and pure where it can be: each function takes what the user typed and returns the
normalised value, or raises ValueError with one short line that shows the value (repr, cut when
long) and the rule it breaks. `nimctl.settings` calls them from its field validators, so a bad
value from a flag, the environment or a profile is a ConfigError (exit 2) before any engine call.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import os
import re
import stat
from pathlib import Path
from urllib.parse import urlsplit

SHOWN = 40  # characters of a value shown in a message before it is cut


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """Patterns compile on first use, not at import: every nimctl command imports this module."""
    return re.compile(pattern, re.ASCII)


def matches(pattern: str, value: str) -> bool:
    """`value` is `pattern`, whole (ASCII classes: `\\w` and `[0-9]` never take other scripts' letters)."""
    return _compiled(pattern).fullmatch(value) is not None


def shown(value: object) -> str:
    """`value` as a message shows it: repr, cut to SHOWN characters with the full length said."""
    text = str(value)
    if len(text) <= SHOWN:
        return repr(text)
    return f"{text[:SHOWN]!r}… ({len(text)} characters)"


def _strange_character(value: str) -> str | None:
    """A description of the first character no identifier here may hold (space, control, non-ASCII)."""
    for ch in value:
        if ch.isspace():
            return f"a whitespace character ({ch!r})"
        if not ch.isprintable():
            return f"a control character ({ch!r})"
        if not ch.isascii():
            return f"a non-ASCII character ({ch!r})"
    return None


# --- container names ---------------------------------------------------------------------------

# Docker's rule (moby daemon/names: `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`, so at least 2 characters; Podman
# allows 1). NAME_MAX is 255 on Linux and nimctl puts the name into file names: the lock file
# "<name>.lock" (+5) and a failed start's log "<name>-YYYYmmdd-HHMMSS.log" (+20), so 235 would fit;
# 128 is the bound chosen, with room for files to come. Docker itself takes names of any length.
CONTAINER_NAME_MAX = 128
_CONTAINER_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z"
_NAME_CHARACTER = r"[a-zA-Z0-9_.-]"


def container_name(value: str) -> str:
    """A container name Docker and Podman accept and nimctl's lock and log file names hold."""
    if not value:
        raise ValueError("a container name cannot be empty")
    if len(value) > CONTAINER_NAME_MAX:
        raise ValueError(f"container name {shown(value)} is longer than {CONTAINER_NAME_MAX} characters")
    if matches(_CONTAINER_NAME, value):
        return value
    if not matches(_NAME_CHARACTER, value[0]) or value[0] in "_.-":
        raise ValueError(f"container name {shown(value)} must start with an ASCII letter or digit")
    if len(value) < 2:
        raise ValueError(f"container name {shown(value)} is too short: Docker needs at least 2 characters")
    bad = next(ch for ch in value if not matches(_NAME_CHARACTER, ch))
    raise ValueError(f"container name {shown(value)} holds {bad!r}: only ASCII letters, digits, '_', '.' and '-'")


# --- image references --------------------------------------------------------------------------
# The distribution reference grammar (github.com/distribution/reference, regexp.go and
# normalize.go), as Docker and Podman parse `docker pull` arguments:
#   reference := name [":" tag] ["@" digest];  name := [domain "/"] path-component ["/" path-component]*

# The whole name as Docker spells it in full (docker.io/library/ added to a familiar name), as older
# distribution versions check it (NameTotalLengthMax); newer ones check the path alone: this is stricter.
REFERENCE_NAME_MAX = 255
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
REFERENCE = rf"{_NAME}(?::{_TAG})?(?:@{_DIGEST})?\Z"  # the whole grammar, one pattern (the tests' yardstick)
_IDENTIFIER = r"[a-f0-9]{64}\Z"
# what the engines' go-digest accepts: a registered algorithm and its exact hex length, lower case
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_PATH_RULE = "lower-case letters and digits, split by one '.', one or two '_', or '-'s"


def image_reference(value: str) -> str:
    """`[registry[:port]/]path[:tag][@algorithm:hex]`, as Docker and Podman accept it."""
    if not value:
        raise ValueError("an image reference cannot be empty")
    if (strange := _strange_character(value)) is not None:
        raise ValueError(f"image {shown(value)} holds {strange}")
    name, at, digest = value.partition("@")
    if at:
        image_digest(digest, value)
    head, slash, last = name.rpartition("/")
    if last.count(":") > 1:
        raise ValueError(f"image {shown(value)} has more than one ':' after its last '/' (name:tag)")
    last, colon, tag = last.partition(":")
    if colon:
        image_tag(tag, value)
    image_repository(head + slash + last, value)
    return value


def image_repository(value: str, reference: str | None = None) -> str:
    """`[registry[:port]/]path` without tag or digest (the profile's image_repository)."""
    what = f"image {shown(value if reference is None else reference)}"
    if not value:
        raise ValueError(f"{what} has no repository name" if reference else "an image repository cannot be empty")
    if (strange := _strange_character(value)) is not None:
        raise ValueError(f"{what} holds {strange}")
    if reference is None and ("@" in value or ":" in value.rpartition("/")[2]):
        raise ValueError(f"{what} holds a tag or digest: give it in image_tag, or the whole reference as image")
    if matches(_IDENTIFIER, reference if reference is not None else value):  # as Docker checks it
        raise ValueError(f"{what} is a 64-digit hex id, not a repository name")
    first, slash, rest = value.partition("/")
    # Docker's split (normalize.go): the first component is a registry when another follows and it has
    # a '.' or ':', is localhost, or has upper case (a path component never does); else Docker Hub's.
    registry_given = bool(slash) and (any(c in first for c in ".:") or first == "localhost" or first != first.lower())
    full = value if registry_given else "docker.io/" + ("" if slash else "library/") + value
    if len(full) > REFERENCE_NAME_MAX:
        spelled = "" if full == value else f" (in full: {shown(full)})"
        raise ValueError(f"{what}: the repository name is longer than {REFERENCE_NAME_MAX} characters{spelled}")
    if matches(_NAME + r"\Z", value):
        return value
    components = rest.split("/") if registry_given else value.split("/")
    if registry_given and not matches(_DOMAIN + r"\Z", first):
        raise ValueError(f"{what}: {first!r} is not a registry host[:port]")
    for component in components:
        if not component:
            raise ValueError(f"{what} has an empty path component ('//', or '/' at an end)")
        if matches(_PATH_COMPONENT + r"\Z", component):
            continue
        if matches(_PATH_COMPONENT + r"\Z", component.lower()):
            raise ValueError(f"{what}: upper-case letters are not allowed in a repository name ({component!r})")
        raise ValueError(f"{what}: {component!r} is not a repository path component ({_PATH_RULE})")
    raise ValueError(f"{what} is not a repository name ([registry[:port]/]path)")  # not reached: a safety net


def image_tag(value: str, reference: str | None = None) -> str:
    """A tag: word characters, '.' and '-', not first, at most 128."""
    what = f"image {shown(reference)}: tag {shown(value)}" if reference else f"image tag {shown(value)}"
    if not value:
        raise ValueError(
            f"image {shown(reference)} has an empty tag after ':'" if reference else "an image tag cannot be empty"
        )
    if len(value) > 128:
        raise ValueError(f"{what} is longer than 128 characters")
    if not matches(_TAG + r"\Z", value):
        raise ValueError(f"{what} is not a tag (letters, digits, _ . -, not starting with . or -)")
    return value


def image_digest(value: str, reference: str | None = None) -> str:
    """`algorithm:hex` with an algorithm the engines know (sha256, sha384, sha512) and its hex length."""
    what = f"image {shown(reference)}: digest {shown(value)}" if reference else f"digest {shown(value)}"
    if "@" in value:
        raise ValueError(f"image {shown(reference or value)} has more than one '@'")
    if not matches(_DIGEST + r"\Z", value):
        raise ValueError(f"{what} is not algorithm:hex (e.g. sha256: and 64 hex digits)")
    algorithm, _, hex_digits = value.partition(":")
    if algorithm not in DIGEST_HEX_LENGTHS:
        raise ValueError(f"{what}: unsupported algorithm (use one of {', '.join(DIGEST_HEX_LENGTHS)})")
    if len(hex_digits) != DIGEST_HEX_LENGTHS[algorithm] or hex_digits != hex_digits.lower():
        raise ValueError(f"{what}: {algorithm} needs {DIGEST_HEX_LENGTHS[algorithm]} lower-case hex digits")
    return value


# --- users -------------------------------------------------------------------------------------

ID_MAX = 2**32 - 2  # uid_t is 32 bits and 4294967295 is (uid_t)-1, "no id"
_USER = r"([0-9]+)(?::([0-9]+))?\Z"


def user(value: str) -> str:
    """`uid` or `uid:gid`, numbers in 0..4294967294; returned without leading zeros."""
    match = _compiled(_USER).fullmatch(value)
    if match is None:
        raise ValueError(f"user {shown(value)} is not uid or uid:gid (numbers, e.g. 1000:1000)")
    ids = [text for text in match.groups() if text is not None]
    for label, text in zip(("uid", "gid"), ids, strict=False):
        if len(text) > 10 or int(text) > ID_MAX:
            raise ValueError(f"user {shown(value)}: {label} {shown(text)} is out of range (0..{ID_MAX})")
    return ":".join(str(int(text)) for text in ids)


# --- sizes -------------------------------------------------------------------------------------

SIZE_MAX = 2**63 - 1  # the engines hold sizes in int64
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = r"(?i)\s*([0-9]+)(?:\.([0-9]+))?\s*([kmgt]?)(?:i?b)?\s*\Z"


def size(value: str | int) -> int:
    """Docker's size syntax (`32GB`, `16g`, `512MiB`, `1073741824`; units are powers of 1024) in bytes,
    more than 0 and at most int64's maximum. Exact: no float rounding near the bound."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{shown(value)} is not a size (examples: 32GB, 16g, 512MiB)")
    if isinstance(value, int):
        count = value
    else:
        match = _compiled(_SIZE).fullmatch(value)
        if not match:
            raise ValueError(f"{shown(value)} is not a size (examples: 32GB, 16g, 512MiB)")
        whole, fraction, unit = match.group(1), match.group(2) or "", _SIZE_UNITS[match.group(3).lower()]
        whole, fraction = whole.lstrip("0") or "0", fraction[:40]  # 40 digits: far past int64, and a byte
        if len(whole) > 40:
            raise ValueError(f"size {shown(value)} is larger than {SIZE_MAX} bytes (int64)")
        # fractions of a byte are dropped, as docker does
        count = int(whole) * unit + (int(fraction) * unit // 10 ** len(fraction) if fraction else 0)
    if count <= 0:
        raise ValueError(f"size {shown(value)} must be larger than 0")
    if count > SIZE_MAX:
        raise ValueError(f"size {shown(value)} is larger than {SIZE_MAX} bytes (int64)")
    return count


def host_memory() -> int | None:
    """This machine's physical memory in bytes, or None when the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def shm_warning(shm_bytes: int, memory: int | None = None) -> str | None:
    """A warning when /dev/shm is asked larger than the host's memory (it can never fill), else None."""
    memory = host_memory() if memory is None else memory
    if memory is None or memory <= 0 or shm_bytes <= memory:
        return None
    return (
        f"shm_size {_gib(shm_bytes)} is more than this host's memory ({_gib(memory)}): "
        "the NIM cannot use it all; lower --shm-size"
    )


def _gib(count: int) -> str:
    return f"{count / 1024**3:.1f} GiB"


# --- paths -------------------------------------------------------------------------------------


def absolute_path(value: str | os.PathLike[str], *, cwd: Path | None = None) -> Path:
    """`~` expanded, and a relative path resolved against the current directory (as `docker -v ./x`
    does). Symlinks are not followed here: that needs the filesystem (`directory`)."""
    text = os.fspath(value)
    if not text:
        raise ValueError("a path cannot be empty")
    if "\0" in text:
        raise ValueError(f"path {shown(text)} holds a NUL character")
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # ~user with no such user, or no home directory
        raise ValueError(f"path {shown(text)}: cannot expand '~' (no such user, or no home directory)") from None
    if str(path).startswith("~"):
        raise ValueError(f"path {shown(text)}: cannot expand '~' (no such user, or HOME unset)")
    if not path.is_absolute():
        try:
            base = cwd if cwd is not None else Path.cwd()
        except OSError as exc:
            raise ValueError(f"path {shown(text)} is relative and the current directory is gone ({exc.strerror})")
        path = base / path
    return path


def directory(value: str | os.PathLike[str], *, cwd: Path | None = None) -> Path:
    """A directory there is, or one `mkdir -p` can create: absolute (`absolute_path`), symlinks
    followed (a dangling one is an error naming the link and its target), and not a file."""
    path = absolute_path(value, cwd=cwd)
    try:
        link = _broken_link(path)
        if link is not None:
            where, target, reason = link
            raise ValueError(f"path {shown(path)}: the symlink {str(where)!r} points to {target!r}, {reason}")
        resolved = Path(os.path.realpath(path))
        if resolved.exists():
            if not resolved.is_dir():
                raise ValueError(f"path {shown(path)} is a file, not a directory" + _via(path, resolved))
            return resolved
        parent = _nearest_existing(resolved)
        if not parent.is_dir():
            raise ValueError(f"path {shown(path)} cannot be created: {str(parent)!r} is a file" + _via(path, resolved))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(f"path {shown(path)} cannot be created: {str(parent)!r} is not writable by you")
    except OSError as exc:
        raise ValueError(f"path {shown(path)} cannot be used: {exc.strerror or exc}") from None
    return resolved


def _via(path: Path, resolved: Path) -> str:
    return f" (through symlinks: {str(resolved)!r})" if resolved != path else ""


def _broken_link(path: Path) -> tuple[Path, str, str] | None:
    """The first symlink on `path` (from the root down) that leads nowhere: (link, target, why)."""
    current = Path(path.anchor)
    for part in path.parts[1:]:
        current = current / part
        try:
            info = os.lstat(current)
        except (FileNotFoundError, NotADirectoryError):
            return None  # the rest does not exist yet: nothing further is a link
        if not stat.S_ISLNK(info.st_mode):
            continue
        try:
            os.stat(current)
        except OSError as exc:
            why = "a symlink loop" if exc.errno == errno.ELOOP else "which does not exist"
            return current, os.readlink(current), why
    return None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# --- model sources (model-free NIM: NIM_MODEL_PATH) -----------------------------------------------

MODEL_SOURCE_SCHEMES = ("hf", "ngc", "s3", "gs", "modelscope")  # NVIDIA's "About Model-Free NIM"
_SCHEME = r"([A-Za-z][A-Za-z0-9+.-]*)://"


def model_source_scheme(value: str) -> str | None:
    """The URI scheme of a model source (`hf`, `ngc`, ...), lower-case; None for a local path."""
    found = re.match(_SCHEME, value)
    return found.group(1).lower() if found else None


def model_source(value: str) -> str:
    """A model source as NIM_MODEL_PATH takes it: `hf://org/model[:rev]`, `ngc://org/model[:version]`
    (also s3://, gs://, modelscope://), or a local directory, made absolute (`absolute_path`).
    Whether the directory exists and holds config.json is `local_model_directory`'s question."""
    text = value.strip()
    if not text:
        raise ValueError("a model source cannot be empty (hf://org/model, ngc://org/model, or a directory)")
    if any(not ch.isprintable() for ch in text):
        raise ValueError(f"model source {shown(text)} holds a control character")
    scheme = model_source_scheme(text)
    if scheme is None:
        return str(absolute_path(text))
    if (bad := _strange_character(text)) is not None:
        raise ValueError(f"model source {shown(text)} holds {bad}")
    if scheme not in MODEL_SOURCE_SCHEMES:
        raise ValueError(
            f"model source {shown(text)}: unknown scheme {scheme}:// "
            f"(use {', '.join(s + '://' for s in MODEL_SOURCE_SCHEMES)} or a local directory)"
        )
    if not text[len(scheme) + 3 :].strip("/"):
        raise ValueError(f"model source {shown(text)} names no model (e.g. {scheme}://org/model)")
    return text


MODEL_CONFIG = "config.json"


def local_model_directory(value: str | os.PathLike[str]) -> Path:
    """A local model for a model-free NIM: an existing directory holding config.json, symlinks followed."""
    path = absolute_path(value)
    try:
        resolved = Path(os.path.realpath(path))
        exists, is_dir = resolved.exists(), resolved.is_dir()
        has_config = is_dir and (resolved / MODEL_CONFIG).is_file()
    except OSError as exc:  # a name the filesystem refuses (too long, ...)
        raise ValueError(f"the model directory {shown(path)} cannot be read: {exc.strerror}") from None
    if not exists:
        raise ValueError(f"the model directory {shown(path)} does not exist")
    if not is_dir:
        raise ValueError(f"the model path {shown(path)} is a file, not a directory" + _via(path, resolved))
    if not has_config:
        raise ValueError(
            f"the model directory {shown(path)} holds no {MODEL_CONFIG} (a Hugging Face model directory has one)"
        )
    return resolved


# --- URLs --------------------------------------------------------------------------------------


def host_address(value: str) -> str:
    """The address a port is published on: an IPv4 or IPv6 literal (`[::1]` brackets allowed; the
    engine takes no host names), or "" (every interface, as the engine reads it)."""
    text = value.strip()
    if not text:
        return text
    try:
        return str(ipaddress.ip_address(text[1:-1] if text.startswith("[") and text.endswith("]") else text))
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IP address to publish on (e.g. 127.0.0.1, 0.0.0.0, ::1)") from None


ENGINE_SCHEMES = ("unix", "ssh", "tcp", "npipe", "fd", "http", "https")


def engine_url(value: str) -> str:
    """An engine API URL as docker takes one: `unix:///path` (or the path alone), `ssh://[user@]host[:port]`,
    `tcp://host:port`, `npipe://...`; one that would not even parse is refused here, not deep in docker-py."""
    text = value.strip()
    rule = "unix:///path/to/socket, ssh://user@host, tcp://host:2376"
    if text.startswith("/"):
        return text
    scheme, sep, _ = text.partition("://")
    if not sep or scheme.lower() not in ENGINE_SCHEMES:
        raise ValueError(f"{shown(value)} is not an engine URL ({rule})")
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in text):
        raise ValueError(f"{shown(value)} is not an engine URL: spaces, control or non-ASCII characters ({rule})")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as exc:
        raise ValueError(f"{shown(value)} is not an engine URL: {exc} ({rule})") from None
    if scheme.lower() in ("ssh", "tcp", "http", "https") and not parts.hostname:
        raise ValueError(f"{shown(value)} is not an engine URL: no host ({rule})")
    return text


def http_url(value: str) -> str:
    """An http(s) URL with a host and, if given, a port in 1..65535 (e.g. http://127.0.0.1:8000)."""
    example = "e.g. http://127.0.0.1:8000"
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError(f"URL {shown(value)} is not an http:// or https:// URL ({example})")
    if (strange := _strange_character(value)) is not None:
        raise ValueError(f"URL {shown(value)} holds {strange}")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"URL {shown(value)} is malformed ({exc})") from None
    if not parts.hostname:
        raise ValueError(f"URL {shown(value)} has no host ({example})")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if (port is not None and not 1 <= port <= 65535) or parts.netloc.endswith(":"):
        raise ValueError(f"URL {shown(value)} has an invalid port (1-65535)")
    return value


# --- profile files -----------------------------------------------------------------------------

PROFILE_MAX_BYTES = 1024 * 1024  # a profile is a few hundred bytes; 1 MiB is generous


def read_profile(path: Path, limit: int = PROFILE_MAX_BYTES) -> bytes:
    """The bytes of a profile file: a regular file of at most `limit` bytes, read no further than
    limit + 1 bytes (a huge file is refused without reading it; a FIFO never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise ValueError(f"profile {str(path)!r} is a directory, not a file") from None
    except OSError as exc:
        raise ValueError(f"profile {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError(f"profile {str(path)!r} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"profile {str(path)!r} is not a regular file")
        if info.st_size > limit:
            raise ValueError(f"profile {str(path)!r} is {info.st_size} bytes: more than the {limit} a profile may have")
        chunks, total = [], 0
        while total <= limit and (chunk := os.read(fd, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise ValueError(f"profile {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ValueError(f"profile {str(path)!r} is more than the {limit} bytes a profile may have")
    return data
