"""Running external commands (pg_dump, pg_restore, aws, git, npm) as an operator would.

:func:`run` takes an argv list; :func:`run_shell` runs one line of the guide through
``bash -c`` so that its ``$(date +%Y%m%d)`` expands exactly as on an operator's terminal.
Results are frozen and carry their timing; secrets are redacted from what they keep: those of
the environment the command was given (every credential it could print), and those the caller's
:class:`~runbook_lib.world.redact.Redactor` knows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.errors import CommandFailed, EnvironmentMissing
from runbook_lib.world import touched
from runbook_lib.world.clock import Clock, WallClock
from runbook_lib.world.redact import Redactor

_WALL_CLOCK = WallClock()  # a command's duration is real time


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> CommandResult:
        if not self.ok:
            raise CommandFailed(list(self.argv), self.returncode, self.stderr)
        return self


def child_env(
    extra: Mapping[str, str] | None = None, path_first: Path | None = None
) -> dict[str, str]:
    """The environment of a child process: this process's own, as an operator's shell passes it
    on (PATH, AWS_*, HOME), with ``extra`` on top and ``path_first`` ahead of PATH's entries.
    This is the one place outside the CLI and the pytest plugin that reads ``os.environ``: drill
    settings are resolved at that edge (:class:`~runbook_lib.drill.options.Settings`); children
    simply inherit what they were given."""
    env = {**os.environ, **(extra or {})}
    if path_first is not None:
        env["PATH"] = os.pathsep.join([str(path_first), env.get("PATH", os.defpath)])
    return env


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    cwd: str | None = None,
    input_text: str | None = None,
    clock: Clock = _WALL_CLOCK,
    redactor: Redactor | None = None,
) -> CommandResult:
    """Run ``argv``, timed on ``clock``; a missing program is EnvironmentMissing, a timeout
    CommandFailed. Its output is masked by ``redactor`` (default: one made from the command's
    environment)."""
    if (
        shutil.which(argv[0], path=(env or {}).get("PATH")) is None
        and shutil.which(argv[0]) is None
    ):
        raise EnvironmentMissing(
            f"{argv[0]} is not installed or not on PATH (see `runbook doctor`)"
        )
    _note_program(argv, env)
    started = clock.monotonic()
    try:
        done = subprocess.run(
            list(argv),
            env=dict(env) if env else None,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandFailed(list(argv), -1, f"timed out after {timeout:g} s") from None
    if redactor is None:
        redactor = Redactor(dict(env) if env else child_env())
    return CommandResult(
        tuple(argv),
        done.returncode,
        redactor.text(done.stdout),
        redactor.text(done.stderr),
        clock.monotonic() - started,
    )


def _note_program(argv: Sequence[str], env: Mapping[str, str] | None) -> None:
    """A local program is a real component; the aws CLI is a real client of an S3 that is
    simulated when its endpoint is on loopback."""
    words = argv[2].split() if argv[0] == "bash" and len(argv) > 2 else list(argv)
    program = os.path.basename(words[0]) if words else ""
    if program != "aws":
        touched.real(program)
        return
    endpoint = (env if env is not None else os.environ).get("AWS_ENDPOINT_URL", "")
    is_loopback = "127.0.0.1" in endpoint or "localhost" in endpoint
    (touched.simulated if is_loopback else touched.real)("S3 (through the real aws CLI)")


def run_shell(
    line: str, *, env: Mapping[str, str] | None = None, timeout: float = 600, cwd: str | None = None
) -> CommandResult:
    """Run one command line of the guide, unchanged, through bash."""
    return run(["bash", "-c", line], env=env, timeout=timeout, cwd=cwd)


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` still there (another user's counts as there)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_running(pid: int) -> bool:
    """Is process ``pid`` there and not dead? A killed daemon stays a zombie until its parent
    (often PID 1 in a container, which may be slow to reap) collects it: :func:`pid_alive`
    still sees it, though it runs no more."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):  # gone; or no /proc (not Linux): ask the kernel
        return False if Path("/proc").is_dir() else pid_alive(pid)
    return state not in ("Z", "X")


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` now (Linux ``/proc``; none elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found
