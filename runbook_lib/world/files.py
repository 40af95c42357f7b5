"""Files the drill writes for others to read (evidence, reports, ``reports/latest``).

A reader (an auditor's browser, ``runbook verify-evidence``, a CI step) must see the old file or
the new one, never half of one: each is written beside its place as ``<name>.partial`` and then
renamed over it, which POSIX makes atomic. A ``.partial`` file left behind by a crash is never
mistaken for an artifact (the manifest skips it).
"""

from __future__ import annotations

import os
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` in one rename."""
    partial = partial_path(path)
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def symlink_atomic(path: Path, target: str) -> None:
    """Point the symbolic link ``path`` at ``target`` in one rename."""
    partial = partial_path(path)
    partial.unlink(missing_ok=True)
    partial.symlink_to(target)
    os.replace(partial, path)
