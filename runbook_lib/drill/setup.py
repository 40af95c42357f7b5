"""``runbook setup``: install what the drills need and this machine lacks, then say what is left.

Idempotent: every requirement (:mod:`runbook_lib.drill.requirements`) is probed first and only
the missing ones are installed, each through its ecosystem's own installer (``apt-get`` for
Debian packages, ``pip`` for Python distributions), as root or through ``sudo -n``. Progress is
one line per requirement; what could not be done is one line saying why and what to run. The
installers' own output goes to a log file, named when something fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.drill.requirements import REQUIREMENTS, Requirement, container_image, docker_host
from runbook_lib.errors import EnvironmentMissing
from runbook_lib.world.container import DEFAULT_DOCKER_HOST, docker_available

DOCKERD_LOG = Path("/var/log/dockerd.log")


@dataclass(frozen=True)
class Outcome:
    name: str
    state: str  # "present", "installed", "failed", "skipped"
    detail: str


@dataclass
class Installer:
    """Runs the ecosystem installers, as root or through ``sudo -n``, logging their output."""

    log: Path
    dry_run: bool = False
    _apt_updated: bool = field(default=False, init=False)

    def _root_prefix(self) -> list[str] | None:
        if os.geteuid() == 0:
            return []
        if (
            shutil.which("sudo")
            and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode
            == 0
        ):
            return ["sudo", "-n"]
        return None

    def _run(self, argv: list[str], env: dict[str, str] | None = None) -> str | None:
        """Run ``argv``; None on success, else why not (one line)."""
        if self.dry_run:
            print(f"      would run: {' '.join(argv)}")
            return None
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
        return None if done.returncode == 0 else f"`{' '.join(argv)}` exited {done.returncode}"

    def apt(self, packages: Sequence[str]) -> str | None:
        if not shutil.which("apt-get"):
            return (
                f"no apt-get on this machine: install {' '.join(packages)} with its package manager"
            )
        prefix = self._root_prefix()
        if prefix is None:
            return f"not root and no password-less sudo: run `sudo apt-get install {' '.join(packages)}`"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not self._apt_updated:
            failed = self._run([*prefix, "apt-get", "update", "-qq"], env)
            if failed:
                return failed
            self._apt_updated = True
        install = [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends"]
        return self._run([*install, *packages], env)

    def pip(self, distributions: Sequence[str]) -> str | None:
        return self._run([sys.executable, "-m", "pip", "install", "--quiet", *distributions])

    def npm_prefix(self, prefix: Path, *packages: str) -> str | None:
        """``npm install --prefix PREFIX PACKAGE...``: pinned tools in a directory of their own."""
        if not shutil.which("npm"):
            wanted = " ".join(packages)
            return f"npm is missing: install it first (apt-get install npm), then {wanted}"
        prefix.mkdir(parents=True, exist_ok=True)
        quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
        return self._run(["npm", "install", "--prefix", str(prefix), *quiet, *packages])

    def docker_engine(self, packages: Sequence[str]) -> str | None:
        """Install the engine if it is absent, then start ``dockerd`` (in the background, its
        log in :data:`DOCKERD_LOG`) on the socket DOCKER_HOST names and wait until it answers."""
        if not shutil.which("dockerd"):
            failed = self.apt(packages)
            if failed:
                return failed
        host = docker_host()
        if not host.startswith("unix://"):
            return f"DOCKER_HOST={host} is not a local socket: start that engine where it runs"
        argv = ["dockerd"] if host == DEFAULT_DOCKER_HOST else ["dockerd", "-H", host]
        if self.dry_run:
            print(f"      would start: {' '.join(argv)}")
            return None
        if os.geteuid() != 0:
            return "dockerd is installed but not running: start it as root (`sudo dockerd &`)"
        log = DOCKERD_LOG if os.access(DOCKERD_LOG.parent, os.W_OK) else self.log
        with log.open("a", encoding="utf-8") as out:
            subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if docker_available(host):
                return None
            time.sleep(0.5)
        return f"dockerd did not answer within 30 s (see {log})"

    def postgres_image(self) -> str | None:
        """The image RUNBOOK_PG_IMAGE names: runbook/postgres:15 is built here (debootstrap
        installed first when absent), any other is pulled."""
        from runbook_lib.drill.image import LOCAL_IMAGE, build_image, describe

        image = container_image()
        if image != LOCAL_IMAGE:
            failed = self._run(["docker", "pull", image])
            if failed:
                return (
                    f"cannot pull {image} (see the log); where no registry answers, build "
                    f"{LOCAL_IMAGE} here: RUNBOOK_PG_IMAGE={LOCAL_IMAGE} runbook setup --with docker"
                )
            return None
        if self.dry_run:
            print(f"      would build: {image} (debootstrap + docker import)")
            return None
        if not shutil.which("debootstrap"):
            failed = self.apt(["debootstrap"])
            if failed:
                return failed
        try:
            built = build_image(image=image, force=True, say=print)
        except EnvironmentMissing as exc:
            return str(exc)
        print(f"      {describe(built)}")
        return None

    def postgres_user(self) -> str | None:
        return self._run(
            [
                "useradd",
                "--system",
                "--home-dir",
                "/var/lib/postgresql",
                "--shell",
                "/bin/bash",
                "postgres",
            ]
        )


def _install(requirement: Requirement, installer: Installer) -> str | None:
    if requirement.installer == "vercel-cli":
        from runbook_lib.procedures.deployment.vercel_cli import packages, tool_dir

        return installer.npm_prefix(tool_dir(), *packages())
    if requirement.installer == "dockerd":
        return installer.docker_engine(requirement.apt)
    if requirement.installer == "postgres-image":
        return installer.postgres_image()
    if requirement.apt:
        return installer.apt(requirement.apt)
    if requirement.pip:
        return installer.pip(requirement.pip)
    if requirement.name.startswith("unprivileged 'postgres' user"):
        return installer.postgres_user()
    return "no installer known: install it by hand"


def wanted(extras: Sequence[str]) -> list[Requirement]:
    """The requirements ``runbook setup --with EXTRAS`` takes care of, in install order."""
    return [r for r in REQUIREMENTS if r.by_default or r.optional_key in extras]


def setup(
    extras: Sequence[str] = (),
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> list[Outcome]:
    """Probe, install what is missing, probe again; one progress line per requirement."""
    fd, log_name = tempfile.mkstemp(prefix="runbook-setup-", suffix=".log")
    os.close(fd)
    installer = Installer(Path(log_name), dry_run)
    chosen = wanted(extras)
    outcomes = []
    for index, requirement in enumerate(chosen, start=1):
        prefix = f"[{index}/{len(chosen)}] {requirement.name}"
        seen = requirement.probe()
        if seen.found:
            outcomes.append(Outcome(requirement.name, "present", seen.detail))
            say(f"{prefix}: ok ({seen.detail})")
            continue
        say(f"{prefix}: missing ({seen.detail}); installing: {requirement.fix or 'by hand'}")
        failed = _install(requirement, installer)
        after = requirement.probe() if not failed and not dry_run else seen
        if failed or (not dry_run and not after.found):
            why = failed or f"still missing after the install ({after.detail})"
            outcomes.append(Outcome(requirement.name, "failed", why))
            say(f"{prefix}: NOT installed: {why}")
        else:
            outcomes.append(
                Outcome(requirement.name, "skipped" if dry_run else "installed", after.detail)
            )
            say(f"{prefix}: {'would install' if dry_run else 'installed'} ({after.detail})")
    failures = [o for o in outcomes if o.state == "failed"]
    if failures:
        say(f"installer output: {log_name}")
    else:
        Path(log_name).unlink(missing_ok=True)
    return outcomes
