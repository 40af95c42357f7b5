"""One error tree for the whole product.

Every expected failure is a ``RunbookError`` whose message says what failed and what to do.
The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``; anything that is
not a ``RunbookError`` is a bug and keeps its traceback.

    RunbookError
    ├── GuideError (ValueError)            the guide is missing or malformed          exit 2
    ├── ConfigurationError (ValueError)    a bad option, environment or feature file  exit 2
    ├── EnvironmentMissing                 a binary or service the drill needs is absent
    ├── NotRunnable                        the server lacks a capability a scenario needs
    ├── HermeticViolation                  a connection outside loopback was attempted
    ├── CommandFailed                      an external command exited non-zero
    ├── ServiceError                       a (simulated) HTTP API answered with an error
    │   └── AuthenticationFailed           401/403: the credential was missing or rejected
    ├── ProcedureFailed                    a runbook procedure could not be completed
    │   ├── BackupCorrupted                a backup cannot be read back
    │   └── VerificationFailed             a restored copy differs from its source
    └── ThresholdBreached (AssertionError) a measurement missed the guide's objective
        └── FindingConfirmed               a known gap in the guide was observed again
"""

from __future__ import annotations


class RunbookError(Exception):
    """Root of every expected failure; ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class GuideError(RunbookError, ValueError):
    """The guide lacks a section or table the drills rely on, or it is malformed."""

    exit_code = 2

    def __init__(self, path: str, line: int | None, section: str, expected: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: section '{section}': {expected}")
        self.path = path
        self.line = line
        self.section = section
        self.expected = expected


class ConfigurationError(RunbookError, ValueError):
    """An option, environment variable or feature file is invalid."""

    exit_code = 2


class EnvironmentMissing(RunbookError):
    """A binary or service the drill needs is not available on this machine."""

    exit_code = 3


class NotRunnable(RunbookError):
    """A scenario cannot run here: the server lacks a capability it needs (one the drill owns,
    ``pg_stat_statements`` preloaded, a superuser role, ...). Reported as "not runnable" with
    ``capability`` named: neither a pass nor a finding about the guide."""

    def __init__(self, capability: str, why: str) -> None:
        super().__init__(f"not runnable here: needs {capability} ({why})")
        self.capability = capability
        self.why = why


class HermeticViolation(RunbookError):
    """A hermetic run tried to reach an address outside loopback."""


class CommandFailed(RunbookError):
    """An external command (pg_restore, aws, git, ...) exited non-zero."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        tail = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        super().__init__(f"`{' '.join(argv[:3])} ...` exited {returncode}: {tail}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


class ServiceError(RunbookError):
    """An HTTP API answered with an error status after any retries."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AuthenticationFailed(ServiceError):
    """The API rejected the credential (401/403), or no credential was given."""


class ProcedureFailed(RunbookError):
    """A runbook procedure could not be completed."""


class BackupCorrupted(ProcedureFailed):
    """A backup file or object cannot be read back: it is corrupted or truncated."""


class VerificationFailed(ProcedureFailed):
    """A restored copy differs from its source; the message names what differs."""


class ThresholdBreached(RunbookError, AssertionError):
    """A measurement missed its objective; raised after the measurement is recorded."""


class FindingConfirmed(ThresholdBreached):
    """A known gap in the guide was observed; expected by scenarios tagged ``@finding:<id>``
    (and only by those naming this ``finding_id``)."""

    def __init__(self, finding_id: str, message: str) -> None:
        super().__init__(message)
        self.finding_id = finding_id
