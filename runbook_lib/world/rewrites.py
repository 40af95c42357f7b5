"""Every change the drill makes to a guide command to run it here, judged against the real service.

A drill cannot reach Napoleon AI's production, so some guide commands run with one part
changed: the database host mapped to the drill's server, a production bucket renamed to a
target's, a ``{PLACEHOLDER}`` filled in, a ``vercel`` line the real CLI refused corrected. Each
change is a :class:`Rewrite` recording the guide's text, what ran instead, and whether the
guide's original could have worked against the real service, with the reason. A rewrite whose
original could not work is a finding (reported by the step that made it); the rewritten command
then proves the corrected procedure. No rewrite may hide a defect of the guide.

The judgements encode the real services' contracts (see ``reference/specs``): Supabase project
refs are 20 lowercase letters and a project's database host is ``db.<ref>.supabase.co`` (or the
pooler, ``*.pooler.supabase.com``); neither a shell nor curl fills ``{NAME}`` (curl even reads
braces as a URL glob). The ``vercel`` lines are judged by the real CLI itself
(:mod:`runbook_lib.procedures.deployment.vercel_cli`): its refusal, in its own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPABASE_DB_HOST = re.compile(r"^db\.[a-z]{20}\.supabase\.co$")
SUPABASE_POOLER = re.compile(r"^[a-z0-9-]+\.pooler\.supabase\.com$")
PLACEHOLDER = re.compile(r"\{([A-Z_][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class Rewrite:
    command: str  # the guide's command, as written
    original: str  # the part the drill changed
    as_run: str  # what ran instead
    could_work: bool  # could the guide's original have worked against the real service?
    why: str  # the contract the judgement rests on


def database_host(command: str, host: str, as_run: str) -> Rewrite:
    """``-h host`` mapped to the drill's server: could the guide's host be a Supabase database?"""
    if SUPABASE_DB_HOST.match(host) or SUPABASE_POOLER.match(host):
        why = "a Supabase project's database host"
        return Rewrite(command, f"-h {host}", as_run, True, why)
    if host.endswith("supabase.co") or host.endswith("supabase.com"):
        why = (
            f"{host} is no project's database host: Supabase databases are at "
            "db.<project-ref>.supabase.co (a ref is 20 lowercase letters) or the connection pooler"
        )
        return Rewrite(command, f"-h {host}", as_run, False, why)
    return Rewrite(command, f"-h {host}", as_run, True, "not a Supabase host: the operator's own")


def placeholders(command: str, filled: dict[str, str]) -> list[Rewrite]:
    """``{NAME}`` filled by the drill: as written, nothing would fill it."""
    why = (
        "neither the shell nor curl fills {NAME} (curl reads braces as a URL glob): "
        "the command sends the braces as written"
    )
    return [
        Rewrite(command, f"{{{name}}}", f"${name} (filled by the drill)", False, why)
        for name in dict.fromkeys(PLACEHOLDER.findall(command))
        if name in filled
    ]


def database_user(command: str, user: str, own: str) -> Rewrite:
    """``-U user`` run as the role the drill connects with (its DSN's, on a server it shares)."""
    why = "the guide's role on production; the drill's server is reached as the drill's own role"
    return Rewrite(command, f"-U {user}", f"-U {own}", True, why)


def database_name(command: str, name: str, scoped: str) -> Rewrite:
    """``-d name`` run as the drill session's own database (its namespace on a shared server)."""
    why = "the guide's database, prefixed with the drill session's namespace so no other is touched"
    return Rewrite(command, f"-d {name}", f"-d {scoped}", True, why)


def program(command: str, name: str, path: str) -> Rewrite:
    """The guide's program run by its path on this machine (the same program)."""
    return Rewrite(command, name, path, True, "the same program, by its path on this machine")


def renamed(command: str, original: str, replacement: str) -> Rewrite:
    """A production name replaced by a live target's: the original names the real resource."""
    why = "the production resource itself; renamed only so the drill acts on the target"
    return Rewrite(command, original, replacement, True, why)
