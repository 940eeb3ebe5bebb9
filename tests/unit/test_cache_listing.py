"""`nimctl cache ls`'s reading of a cache dir: models by name, sizes, other entries, never a change."""

from __future__ import annotations

from pathlib import Path

from nimctl.cache import human_size, list_cache


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_models_in_the_hub_are_listed_by_name_with_sizes(tmp_path: Path) -> None:
    model = tmp_path / "ngc/hub/models--nim--mistralai--mistral-small-4"
    write(model / "blobs/aaa", 1000)
    write(model / "blobs/bbb", 24)
    (model / "snapshots/vllm-bf16-tp1-pp1").mkdir(parents=True)
    (model / "snapshots/vllm-bf16-tp1-pp1/model.safetensors").symlink_to(model / "blobs/aaa")
    write(tmp_path / "ngc/hub/.locks/x.lock", 0)
    write(tmp_path / "weights/model.safetensors", 16)
    before = sorted(p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink())

    listing = list_cache(tmp_path)

    assert listing.exists and listing.total_bytes == 1040  # the symlink is not counted twice
    names = {entry.name: entry for entry in listing.entries}
    assert names["nim/mistralai/mistral-small-4"].bytes == 1024
    assert names["nim/mistralai/mistral-small-4"].snapshots == ["vllm-bf16-tp1-pp1"]
    assert names["weights"].bytes == 16 and names["ngc/hub/.locks"].files == 1
    assert "ngc" not in names
    after = sorted(p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink())
    assert before == after
    assert set(listing.to_dict()) == {"path", "exists", "total_bytes", "unreadable", "entries"}


def test_a_missing_or_empty_cache(tmp_path: Path) -> None:
    missing = list_cache(tmp_path / "nope")
    assert not missing.exists and missing.entries == [] and missing.total_bytes == 0
    empty = list_cache(tmp_path)
    assert empty.exists and empty.entries == []


def test_human_size() -> None:
    assert human_size(512) == "512 B"
    assert human_size(3 * 1024**3) == "3.0 GiB"
