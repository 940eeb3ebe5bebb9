"""The pull's progress: engine events → per-layer state → a live display on stderr.

`LayerBoard` is pure (tested on recorded events); `PullDisplay` draws it with rich.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    """Per-layer progress bars on stderr while a pull runs (a context manager)."""

    def __init__(self, console: Any, image: str):
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self.board = LayerBoard()
        self._tasks: dict[str, Any] = {}
        self._progress = Progress(
            TextColumn("[bold]{task.fields[layer]}"),
            TextColumn("{task.fields[status]:<18}"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=False,
        )
        self._image = image
        self._console = console

    def __enter__(self) -> PullDisplay:
        self._console.print(f"pulling {self._image}")
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        layer = self.board.apply(event)
        if layer is None:
            return
        task = self._tasks.get(layer.id)
        if task is None:
            task = self._progress.add_task("", layer=layer.id[:12], status=layer.status, total=layer.total)
            self._tasks[layer.id] = task
        self._progress.update(task, status=layer.status[:18], completed=layer.current, total=layer.total)
