"""The real Vercel CLI (npm ``vercel``, pinned), as the guide's ``vercel`` lines run through it.

A line of the guide runs exactly as written (``vercel --prod``, ``vercel rollback --prod``): its
words are split as a shell would and only the program name is resolved to the pinned CLI's path
(:data:`VERSION`, installed by ``runbook setup`` under :func:`tool_dir`). The CLI runs on the
Node.js pinned beside it (:data:`NODE_VERSION`, npm ``node``: the official binary), found first
on ``PATH`` as an operator's ``node`` is; the CLI's own start-up on it costs about half the CPU
it does on Node 20, and a drill runs the CLI some twenty times. The CLI reads everything else
the way it does on an operator's machine:

- ``VERCEL_TOKEN`` from the environment;
- the project from the linked directory's ``.vercel/project.json`` (``projectId``, ``orgId``),
  written by :meth:`VercelCli.link` as ``vercel link`` writes it;
- its API origin from the ``api`` key of ``config.json`` in its global configuration directory,
  found through ``XDG_DATA_HOME`` (``$XDG_DATA_HOME/com.vercel.cli``): in a drill, the gateway's
  loopback origin of the simulated API (none in a live run: the real api.vercel.com);
- ``VERCEL_TELEMETRY_DISABLED=1`` and ``NO_UPDATE_NOTIFIER=1`` (no telemetry, no update check
  against the npm registry), its cache under ``XDG_CACHE_HOME``, and no terminal on stdin, so it
  never prompts.

Nothing is added to the guide's command: what the CLI refuses is answered in its own words
(:attr:`CliRun.words`), for the caller to report as a finding and to run the corrected command.
A run may be watched (:meth:`VercelCli.run` ``watch``): a callable polled while the CLI runs,
which a bounded wait uses to cancel a build that never ends (as an operator would).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from runbook_lib.errors import EnvironmentMissing, ProcedureFailed
from runbook_lib.paths import user_cache
from runbook_lib.world import shell

VERSION = "59.25.4"
NODE_VERSION = "24.21.0"  # the active LTS line; the CLI asks for >= 18
TIMEOUT_SECONDS = 120.0  # wall seconds: no drill command needs a tenth of it
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_REFUSED_OPTION = re.compile(r"unknown or unexpected option: (\S+)")
_BANNER_NODE = re.compile(r"^Vercel CLI \S+ \(Node\.js (\S+)\)", re.MULTILINE)


def tool_dir() -> Path:
    """Where ``runbook setup`` installs the pinned CLI (``npm install --prefix``): a per-user cache,
    so it survives across checkouts and needs no root, and never shadows another ``vercel``."""
    return user_cache(os.environ) / f"vercel-{VERSION}"


def packages() -> tuple[str, ...]:
    """What ``runbook setup`` installs into :func:`tool_dir`: the CLI and the Node it runs on."""
    return (f"vercel@{VERSION}", f"node@{NODE_VERSION}")


def bin_dir() -> Path:
    """The tool directory's ``node_modules/.bin``: ``vercel`` and the pinned ``node``."""
    return tool_dir() / "node_modules" / ".bin"


def executable() -> Path:
    """The pinned CLI's entry point, or EnvironmentMissing saying how to install it."""
    for name in ("vercel", "node"):
        if not (bin_dir() / name).exists():
            raise EnvironmentMissing(
                f"the Vercel CLI {VERSION} on Node.js {NODE_VERSION} is not installed in "
                f"{tool_dir()}: run `runbook setup` "
                f"(npm install --prefix {tool_dir()} {' '.join(packages())})"
            )
    return bin_dir() / "vercel"


@dataclass(frozen=True)
class CliRun:
    """One line run through the CLI: exactly what ran and what it answered."""

    command: str  # the line as the guide (or the corrected procedure) writes it
    argv: tuple[str, ...]  # what was executed
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall time
    version: str

    @property
    def node(self) -> str:
        """The Node.js the CLI says it ran on (its first line: ``Vercel CLI 59.25.4 (Node.js
        24.21.0)``), or "unknown" when it printed none."""
        found = _BANNER_NODE.search(_ANSI.sub("", self.stderr))
        return found.group(1) if found else "unknown"

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def words(self) -> str:
        """What the CLI said when it failed: its error lines (``Error:``, ``✗``), else its last
        line, without colours."""
        lines = [_ANSI.sub("", line).strip() for line in self.stderr.splitlines()]
        lines = [line for line in lines if line]
        errors = [line for line in lines if line.startswith(("Error", "✗"))]
        return " ".join(errors) if errors else (lines[-1] if lines else "")

    @property
    def refused_option(self) -> str | None:
        """The option the CLI's argument parser refused, if that is why it failed."""
        found = _REFUSED_OPTION.search(_ANSI.sub("", self.stderr))
        return found.group(1) if found and not self.ok else None

    def check(self) -> CliRun:
        """This run, or ProcedureFailed in the CLI's words when it exited non-zero."""
        if not self.ok:
            raise ProcedureFailed(f"`{self.command}` exited {self.returncode}: {self.words}")
        return self

    def summary(self) -> str:
        return f"`{self.command}` (Vercel CLI {self.version} on Node.js {self.node}, {self.seconds:.2f} s): exit {self.returncode}"


@dataclass(frozen=True)
class VercelCli:
    """The pinned CLI, set up for one project, run in ``workdir`` (the app's repository)."""

    program: Path
    version: str
    home: Path  # its XDG_DATA_HOME / XDG_CACHE_HOME parent
    token: str
    workdir: Path | None = None
    runs: list[CliRun] = field(default_factory=list, compare=False)

    @classmethod
    def prepare(cls, home: Path, token: str, api: str | None) -> VercelCli:
        """Its configuration under ``home`` (``api``: the origin it talks to; None: Vercel's)."""
        program = executable()
        config = home / "data" / "com.vercel.cli"
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.json").write_text(json.dumps({"api": api} if api else {}) + "\n")
        (home / "cache").mkdir(exist_ok=True)
        version = shell.run([str(program), "--version"], env=_environment(home, token))
        return cls(program, version.check().stdout.strip().splitlines()[-1], home, token)

    def link(self, workdir: Path, project_id: str, org_id: str) -> VercelCli:
        """Link ``workdir`` to the project, as ``vercel link`` does (``.vercel/project.json``)."""
        (workdir / ".vercel").mkdir(exist_ok=True)
        link = {"projectId": project_id, "orgId": org_id}
        (workdir / ".vercel" / "project.json").write_text(json.dumps(link) + "\n")
        ignore = workdir / ".gitignore"
        if ignore.exists() and ".vercel" not in ignore.read_text():
            ignore.write_text(ignore.read_text() + ".vercel\n")
        return replace(self, workdir=workdir, runs=self.runs)

    def run(self, command: str, watch: Callable[[], None] | None = None) -> CliRun:
        """Run one ``vercel ...`` line as written; ``watch`` is called every 50 ms meanwhile."""
        words = shlex.split(command)
        if not words or words[0] != "vercel":
            raise ValueError(f"not a vercel command: {command!r}")
        argv = [str(self.program), *words[1:]]
        stop = threading.Event()
        watcher = threading.Thread(target=_watch, args=(watch, stop), daemon=True)
        if watch:
            watcher.start()
        try:
            done = shell.run(
                argv,
                env=_environment(self.home, self.token),
                cwd=str(self.workdir) if self.workdir else None,
                timeout=TIMEOUT_SECONDS,
                input_text="",
            )
        finally:
            stop.set()
            if watch:
                watcher.join()
        run = CliRun(
            command,
            tuple(argv),
            done.returncode,
            done.stdout,
            done.stderr,
            done.seconds,
            self.version,
        )
        self.runs.append(run)
        return run


def _watch(watch: Callable[[], None] | None, stop: threading.Event) -> None:
    while watch and not stop.wait(0.05):
        watch()


def _environment(home: Path, token: str) -> dict[str, str]:
    return shell.child_env(
        {
            "VERCEL_TOKEN": token,
            "VERCEL_TELEMETRY_DISABLED": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "FORCE_COLOR": "0",
        },
        path_first=bin_dir(),  # `vercel` starts `#!/usr/bin/env node`: the pinned Node is found
    )


def corrected(command: str, refused: str, argument: str) -> str:
    """``command`` without the option the CLI refused, naming ``argument`` instead."""
    words = [w for w in shlex.split(command) if w != refused]
    return shlex.join([*words, argument])
