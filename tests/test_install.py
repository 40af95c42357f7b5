"""The installed tool, not the checkout: the wheel runs the drill from an empty directory.

The wheel is built from this checkout and installed (without dependencies) into a fresh
virtual environment that sees this interpreter's site-packages for pytest, moto and the rest;
the drill then runs from an empty temporary directory, so nothing can be found through the
checkout: the features, the steps, the default guide and configuration must all come from the
installed package, and the reports must land in the current directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, child_environ


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel of this checkout installed; returns its bin directory."""
    work = tmp_path_factory.mktemp("wheel")
    env = child_environ()
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work),
            str(ROOT),
        ],
        work,
        env,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = next(work.glob("runbook_lib-*.whl"))
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], work, env)
    assert made.returncode == 0, made.stderr
    pip = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)],
        work,
        env,
    )
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    return venv / "bin"


def test_the_wheel_carries_everything_the_drill_reads(installed: Path) -> None:
    where = _run(
        [
            str(installed / "python"),
            "-c",
            "import runbook_lib.paths as p; print(p.PACKAGE); "
            "print(sorted(x.name for x in p.DEFAULT_FEATURES.glob('*.feature'))); "
            "print(p.DEFAULT_GUIDE.is_file(), p.DEFAULT_CONFIG_DIR.rule_file.is_file(), "
            "p.DEFAULT_CONFIG_DIR.targets.is_file(), p.DEFAULT_CONFIG_DIR.key_inventory.is_file(), "
            "p.TEMPLATES.is_dir(), p.PYTEST_INI.is_file())",
        ],
        installed,
        child_environ(),
    )
    package, features, files = where.stdout.splitlines()
    assert not Path(package).is_relative_to(ROOT), package  # the installed copy, not the checkout
    assert "backup_recovery.feature" in features
    assert files == "True True True True True True"


def test_the_installed_runbook_drills_from_an_empty_directory(
    installed: Path, tmp_path: Path
) -> None:
    env = {**child_environ(), "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
    env.pop("RUNBOOK_GUIDE", None)
    done = _run(
        [str(installed / "runbook"), "drill", "--only", "guide", "--pg", "embedded", "-n", "0"],
        tmp_path,
        env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    latest = tmp_path / "reports" / "latest"
    evidence = json.loads((latest / "evidence.json").read_text())
    assert {s["feature_file"] for s in evidence["scenarios"]} == {"features/guide.feature"}
    assert not Path(evidence["run"]["guide_path"]).is_relative_to(ROOT)
    assert evidence["run"]["guide_sections"]["backup--recovery"] == "Backup & Recovery"
    assert (latest / "evidence.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]
