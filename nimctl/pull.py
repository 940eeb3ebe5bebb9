"""The pull: engine events → per-layer state → a live display on stderr; registry errors → PullErrors.

`LayerBoard` and `classify_registry_error` are pure (tested on recorded events and messages);
`PullDisplay` draws the board with rich.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nimctl import lazy
from nimctl.errors import ImageNotFound, PullError, RateLimited, RegistryAuthError, TransientPullError

if TYPE_CHECKING:
    import rich.progress as rich_progress
else:
    rich_progress = lazy.module("rich.progress")  # only for live bars on a terminal


def one_line(text: str, limit: int = 300) -> str:
    """An engine message on one line, cut at `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _says(text: str, *patterns: str) -> bool:
    return any(re.search(pattern, text) for pattern in patterns)


# An HTTP status in an engine's text ("received unexpected HTTP status: 503 ..."), not a port (":5000").
def _status(codes: str) -> str:
    return rf"(?<![:\d.])\b(?:{codes})\b(?![\d.])"


NO_CREDENTIALS = (r"no basic auth credentials",)
AUTH_FAILED = (r"unauthorized", r"authentication required", r"incorrect username or password", _status("401"))
RATE_LIMITED = (r"toomanyrequests", r"too many requests", _status("429"), r"rate limit")
NOT_FOUND = (r"manifest unknown", r"name unknown", r"repository does not exist", r"not found", _status("404"))
DENIED = (r"denied", r"forbidden", _status("403"))
TRANSIENT = (
    _status("500|502|503|504"),
    r"internal server error",
    r"bad gateway",
    r"service unavailable",
    r"gateway time-?out",
    r"connection reset",
    r"connection refused",
    r"broken pipe",
    r"\beof\b",
    r"time(?:d)? ?out",
    r"temporar(?:y|ily)",
)


def classify_registry_error(message: str, image: str, *, key_sent: bool = True) -> PullError:
    """A registry/engine error text → the PullError a user can act on, by what the answer means.

    Only the answers that can pass (rate limits, 5xx, dropped connections) are transient, so
    only those are retried; `key_sent` tells "no credentials" from "wrong credentials".
    """
    text = message.lower()
    if _says(text, *NO_CREDENTIALS) or (not key_sent and _says(text, *AUTH_FAILED)):
        return RegistryAuthError(
            f"the registry needs credentials: NGC_API_KEY is not set (pulling {image})",
            hint="export NGC_API_KEY=<your key from ngc.nvidia.com>; nimctl logs in as $oauthtoken",
        )
    if _says(text, *AUTH_FAILED):
        return RegistryAuthError(
            f"the registry rejected the NGC key while pulling {image}",
            hint="check NGC_API_KEY (an NGC API key with access to this NIM); nvcr.io's user is $oauthtoken",
        )
    if _says(text, *RATE_LIMITED):
        return RateLimited(
            f"the registry is rate limiting pulls of {image}: {one_line(message)}",
            hint="nimctl retried with backoff; wait a few minutes before the next pull",
        )
    if _says(text, *NOT_FOUND):
        return ImageNotFound(
            f"image not found: {image}", hint="check the image reference; `nimctl config show` prints the one in use"
        )
    if _says(text, *DENIED):
        return RegistryAuthError(
            f"the registry denied access to {image}",
            hint="the NGC key was accepted but has no access to this image: check your NGC org and subscription",
        )
    if _says(text, *TRANSIENT):
        return TransientPullError(
            f"registry error while pulling {image}: {one_line(message)}",
            hint="the registry or the network kept failing through the retries; check them, then run up again",
        )
    return PullError(f"pull of {image} failed: {one_line(message)}", hint="check the image reference and the registry")


@dataclass
class Layer:
    id: str
    status: str = ""
    current: int = 0
    total: int | None = None  # None: the engine gave no usable total

    @property
    def done(self) -> bool:
        return self.status in ("Pull complete", "Already exists")


@dataclass
class LayerBoard:
    layers: dict[str, Layer] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)  # image-level lines: digest, status

    def apply(self, event: dict[str, Any]) -> Layer | None:
        """Fold one engine event in; returns the layer it touched, if any."""
        status = str(event.get("status", ""))
        layer_id = event.get("id")
        if not layer_id or status.startswith(("Pulling from", "Digest:", "Status:")):
            if status:
                self.messages.append(status if not layer_id else f"{layer_id}: {status}")
            return None
        layer = self.layers.setdefault(layer_id, Layer(layer_id))
        layer.status = status
        detail = event.get("progressDetail") or {}
        total = detail.get("total")
        # Some engines send no total, or -1, for layers of unknown size.
        if isinstance(total, int) and total > 0:
            layer.total = total
        current = detail.get("current")
        if isinstance(current, int) and current >= 0:
            layer.current = current
        if status in ("Pull complete", "Already exists") and layer.total:
            layer.current = layer.total
        return layer

    @property
    def finished_layers(self) -> int:
        return sum(1 for layer in self.layers.values() if layer.done)


class PullDisplay:
    """The pull's progress on stderr (a context manager).

    On a terminal: live per-layer bars. Elsewhere (CI logs, pipes): one line each time a layer's
    status changes, so a log shows the pull without thousands of progress updates.
    """

    def __init__(self, console: Any, image: str):
        self.board = LayerBoard()
        self._console = console
        self._image = image
        # Same rule as cli.output.plain_output: live bars only on a terminal, never with NO_COLOR
        # (a rich Console sets no_color from that variable), whoever built the console.
        self._live = bool(getattr(console, "is_terminal", False)) and not getattr(console, "no_color", False)
        self._tasks: dict[str, Any] = {}
        self._shown_status: dict[str, str] = {}
        self._progress: Any = None
        if self._live:
            self._progress = rich_progress.Progress(
                # the engine's words are text: markup=False
                rich_progress.TextColumn("{task.fields[layer]}", style="bold", markup=False),
                rich_progress.TextColumn("{task.fields[status]:<18}", markup=False),
                rich_progress.BarColumn(),
                rich_progress.DownloadColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> PullDisplay:
        self._console.print(f"pulling {self._image}", highlight=False, markup=False)
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        if exc[0] is None:
            total = sum(layer.total or 0 for layer in self.board.layers.values())
            self._console.print(
                f"pulled {self._image}: {self.board.finished_layers} of {len(self.board.layers)} layers "
                f"done ({total / 1e6:.0f} MB known)",
                highlight=False,
                markup=False,
            )

    def __call__(self, event: dict[str, Any]) -> None:
        layer = self.board.apply(event)
        if layer is None:
            return
        if self._progress is None:
            if self._shown_status.get(layer.id) != layer.status:
                self._shown_status[layer.id] = layer.status
                self._console.print(f"  {layer.id[:12]} {layer.status}", highlight=False, markup=False)
            return
        task = self._tasks.get(layer.id)
        if task is None:
            task = self._progress.add_task("", layer=layer.id[:12], status=layer.status, total=layer.total)
            self._tasks[layer.id] = task
        self._progress.update(task, status=layer.status[:18], completed=layer.current, total=layer.total)
