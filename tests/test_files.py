"""Artifacts are replaced in one rename: a reader sees the old file or the new one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbook_lib.evidence.records import unique_findings
from runbook_lib.world.files import partial_path, symlink_atomic, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_partial(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    path.write_text("old", encoding="utf-8")
    write_atomic(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert not partial_path(path).exists()
    assert partial_path(path).name == "evidence.json.partial"


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "summary.md"
    path.write_text("old", encoding="utf-8")

    def no_rename(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "old"


def test_symlink_atomic_repoints_an_existing_link(tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-2").mkdir()
    latest = tmp_path / "latest"
    symlink_atomic(latest, "run-1")
    symlink_atomic(latest, "run-2")
    assert os.readlink(latest) == "run-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run-1", "run-2"]


def test_unique_findings_keeps_one_per_scenario_or_one_row_per_id() -> None:
    seen = [
        {"id": "GUIDE-X", "scenario": "a", "detail": "first"},
        {"id": "GUIDE-X", "scenario": "a", "detail": "again"},
        {"id": "GUIDE-X", "scenario": "b", "detail": "other"},
        {"id": "GUIDE-Y", "scenario": "a", "detail": "y"},
    ]
    assert [(f["id"], f["scenario"], f["detail"]) for f in unique_findings(seen)] == [
        ("GUIDE-X", "a", "first"),
        ("GUIDE-X", "b", "other"),
        ("GUIDE-Y", "a", "y"),
    ]
    rows = unique_findings(seen, per="id")
    assert [(r["id"], r["detail"]) for r in rows] == [
        ("GUIDE-X", "first (seen in: a; b)"),
        ("GUIDE-Y", "y (seen in: a)"),
    ]
