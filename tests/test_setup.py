"""``runbook setup`` and ``runbook doctor``: one table of requirements, probed, then installed."""

from __future__ import annotations

from pathlib import Path

import pytest

import runbook_lib.drill.setup as drill_setup
from runbook_lib.drill.requirements import REQUIREMENTS, Probe, Requirement
from runbook_lib.drill.setup import Installer, wanted
from tests.helpers import runbook


def _fake(found: list[bool], apt: tuple[str, ...] = ("pkg",)) -> Requirement:
    """A requirement whose probe answers ``found`` in turn (before and after an install)."""
    answers = iter(found)
    return Requirement("thing", "a test", lambda: Probe(next(answers), "seen"), True, apt=apt)


def test_present_requirements_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(drill_setup, "REQUIREMENTS", (_fake([True]),))
    monkeypatch.setattr(Installer, "apt", lambda self, packages: calls.append(packages))
    outcomes = drill_setup.setup(say=lambda line: None)
    assert [o.state for o in outcomes] == ["present"]
    assert calls == []


def test_a_missing_requirement_is_installed_and_probed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(drill_setup, "REQUIREMENTS", (_fake([False, True]),))
    monkeypatch.setattr(Installer, "apt", lambda self, packages: calls.append(packages))
    lines: list[str] = []
    outcomes = drill_setup.setup(say=lines.append)
    assert [o.state for o in outcomes] == ["installed"]
    assert calls == [("pkg",)]
    assert "installing: apt-get install pkg" in lines[0]


def test_an_install_that_leaves_it_missing_is_a_failure_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drill_setup, "REQUIREMENTS", (_fake([False, False]),))
    monkeypatch.setattr(Installer, "apt", lambda self, packages: None)
    lines: list[str] = []
    outcomes = drill_setup.setup(say=lines.append)
    assert outcomes[0].state == "failed"
    assert "still missing after the install" in outcomes[0].detail
    assert lines[-1].startswith("installer output: ")


def test_without_root_or_sudo_apt_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(Installer, "_root_prefix", lambda self: None)
    why = Installer(tmp_path / "log").apt(("postgresql",))
    assert why is not None
    assert "sudo apt-get install postgresql" in why


def test_docker_is_set_up_only_when_asked() -> None:
    assert not any(r.optional_key == "docker" for r in wanted(()))
    assert any(r.optional_key == "docker" for r in wanted(("docker",)))
    assert {r.name for r in wanted(())} >= {r.name for r in REQUIREMENTS if r.required}


def test_setup_is_idempotent_here_and_doctor_agrees() -> None:
    """On this machine everything is installed: setup installs nothing and says it is ready."""
    done = runbook("setup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installing" not in done.stdout
    assert done.stdout.strip().endswith("ready: run `runbook drill`")
    assert runbook("doctor").returncode == 0


def test_an_unknown_optional_requirement_is_one_line_exit_2() -> None:
    done = runbook("setup", "--with", "kubernetes")
    assert done.returncode == 2
    assert done.stderr.strip() == "runbook: --with kubernetes: unknown; choose from docker"


def test_the_vercel_cli_without_its_pinned_node_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The CLI alone would run on whatever ``node`` the machine has: doctor and the drill both
    count it missing until the pinned Node.js sits beside it, and say how to install both."""
    from runbook_lib.drill.requirements import _vercel_cli
    from runbook_lib.errors import EnvironmentMissing
    from runbook_lib.procedures.deployment import vercel_cli

    installed = vercel_cli.bin_dir()  # runbook setup's, before the cache moves to tmp_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bin_dir = vercel_cli.bin_dir()
    bin_dir.mkdir(parents=True)
    (bin_dir / "vercel").symlink_to(installed / "vercel")
    assert not _vercel_cli().found
    with pytest.raises(EnvironmentMissing, match=f"node@{vercel_cli.NODE_VERSION}"):
        vercel_cli.executable()
    (bin_dir / "node").symlink_to(installed / "node")
    assert _vercel_cli().found
    assert vercel_cli.executable() == bin_dir / "vercel"
