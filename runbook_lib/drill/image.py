"""The container backend's PostgreSQL image, built on this machine from Debian's packages.

Our machines reach no image registry (Docker Hub neither), but they do reach their Debian
mirror. So ``runbook setup --with docker`` builds ``runbook/postgres:15`` itself (and CI sets
``RUNBOOK_PG_IMAGE`` to it; users keep the official ``postgres:15``):

1. ``debootstrap --variant=minbase`` of this machine's Debian release from the mirror its apt
   sources name, with ``postgresql-15`` (which ships ``pg_stat_statements``);
2. trimmed: no documentation, translations, package lists or the package's default cluster;
3. ``docker import``ed with :data:`ENTRYPOINT`, which keeps the official image's contract:
   ``POSTGRES_USER``, ``POSTGRES_PASSWORD``, ``POSTGRES_DB`` (and ``POSTGRES_INITDB_ARGS``,
   ``POSTGRES_HOST_AUTH_METHOD``, ``PGDATA``), ``initdb`` as the ``postgres`` user, password
   authentication from any address, ``postgres -c name=value ...`` passed through, and the
   server's own "database system is ready to accept connections";
4. checked: one container started from it answers a password login and loads
   ``pg_stat_statements`` (the time that takes is reported: the container startup time).

Docker's own image store is the cache: the image carries the digest of its recipe
(:data:`RECIPE_LABEL`), and a present image with the same digest is not built again. The build's
output goes to a log file; the console gets one progress line per step, and a failure is one
line naming the step and the log (:class:`~runbook_lib.errors.EnvironmentMissing`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.errors import EnvironmentMissing

LOCAL_IMAGE = "runbook/postgres:15"
RECIPE_LABEL = "ai.napoleon.runbook.recipe"
PACKAGES = ("postgresql-15",)
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PG_BIN = "/usr/lib/postgresql/15/bin"
# what the drills never read inside the image: docs, translations, package lists and caches,
# and the cluster postgresql-common creates on install (the entrypoint makes its own)
TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/lib/postgresql/15",
    "etc/postgresql/15",
)
IMAGE_CONFIG = (
    f"ENV PATH={PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV PGDATA=/var/lib/postgresql/data",
    "ENV LANG=C.UTF-8",
    'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
    'CMD ["postgres"]',
    "EXPOSE 5432",
)

ENTRYPOINT = r"""#!/bin/sh
# Entrypoint of runbook/postgres:15 (built by runbook_lib.drill.image from Debian's
# postgresql-15): the official postgres image's contract. POSTGRES_USER (postgres),
# POSTGRES_PASSWORD, POSTGRES_DB (the user's name), POSTGRES_INITDB_ARGS,
# POSTGRES_HOST_AUTH_METHOD (scram-sha-256) and PGDATA are read on the first start only;
# "postgres -c name=value ..." (or just "-c name=value ...") is passed to the server.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
  exec "$@"
fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    echo "       (set it, or POSTGRES_HOST_AUTH_METHOD=trust to allow logins without one)" >&2
    exit 1
  fi
  pwfile=""
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  fi
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of arguments, as upstream
  initdb -D "$PGDATA" --username="$user" ${pwfile:+--pwfile="$pwfile"} -E UTF8 --locale=C \
    --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-}
  [ -z "$pwfile" ] || rm -f "$pwfile"
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
  printf 'host all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    quoted="$(printf '%s' "$db" | sed 's/"/""/g')"
    printf 'CREATE DATABASE "%s"\n' "$quoted" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
"""


@dataclass(frozen=True)
class DebianRelease:
    """What debootstrap needs: the release's code name and the mirror this machine uses."""

    codename: str
    mirror: str


@dataclass(frozen=True)
class BuiltImage:
    """What a build made (or found): the image, its size, its server version, the timings."""

    name: str
    built: bool  # False: an image of the same recipe was already there
    size_bytes: int
    server_version: str
    build_seconds: float  # 0 when not built
    startup_seconds: float  # one container from start to its first password login
    log: Path | None


def recipe_digest() -> str:
    """The digest of everything that makes the image (packages, trim, configuration, entrypoint)."""
    recipe = "\n".join((*PACKAGES, *TRIM, *IMAGE_CONFIG, ENTRYPOINT))
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def debian_release(
    os_release: Path = Path("/etc/os-release"), apt_dir: Path = Path("/etc/apt")
) -> DebianRelease:
    """This machine's Debian release and its mirror (from the apt sources; deb.debian.org if
    none names the release). Not Debian: EnvironmentMissing, saying what to use instead."""
    fields = _key_values(os_release.read_text(encoding="utf-8") if os_release.exists() else "")
    codename = fields.get("VERSION_CODENAME", "")
    if fields.get("ID") != "debian" or not codename:
        raise EnvironmentMissing(
            f"building {LOCAL_IMAGE} needs a Debian machine (debootstrap of its release); this is "
            f"{fields.get('PRETTY_NAME', 'not Debian')}: pull postgres:15 instead (the default image)"
        )
    return DebianRelease(codename, _mirror_of(codename, apt_dir) or DEFAULT_MIRROR)


def _key_values(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip().strip('"') for key, value in pairs}


def _mirror_of(codename: str, apt_dir: Path) -> str | None:
    """The URI of the first apt source that serves ``codename`` (deb822 or one-line format)."""
    for path in sorted(apt_dir.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            entry = {k.lower(): v for k, v in _colon_values(stanza).items()}
            if codename in entry.get("suites", "").split() and "deb" in entry.get("types", ""):
                return entry.get("uris", "").split()[0] if entry.get("uris") else None
    one_line = [apt_dir / "sources.list", *sorted(apt_dir.glob("sources.list.d/*.list"))]
    for path in (p for p in one_line if p.exists()):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == codename:
                return words[1]
    return None


def _colon_values(stanza: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in stanza.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def image_recipe(image: str, docker: str = "docker") -> str | None:
    """The recipe digest of ``image`` in the engine's store ("" for a foreign image), or None
    when the engine has no such image."""
    done = subprocess.run(
        [
            docker,
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{RECIPE_LABEL}"}}}}',
            image,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return None
    return done.stdout.strip().replace("<no value>", "")


def image_is_current(image: str = LOCAL_IMAGE) -> bool:
    return image_recipe(image) == recipe_digest()


class BuildSteps:
    """Runs the build's commands with their output in the log; a failure names step and log."""

    def __init__(self, log: Path, say: Callable[[str], None]) -> None:
        self.log, self.say = log, say

    def run(self, what: str, argv: Sequence[str], *, stdin: int | None = None) -> str:
        self.say(f"  {LOCAL_IMAGE}: {what}")
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            done = subprocess.run(
                list(argv), stdin=stdin, stdout=subprocess.PIPE, stderr=out, check=False
            )
            out.write(done.stdout.decode(errors="replace"))
        if done.returncode != 0:
            raise EnvironmentMissing(
                f"building {LOCAL_IMAGE} failed at {what} (`{argv[0]}` exited {done.returncode}); "
                f"see {self.log}"
            )
        return done.stdout.decode(errors="replace").strip()


def build_image(
    *,
    image: str = LOCAL_IMAGE,
    force: bool = False,
    log: Path | None = None,
    workdir: Path | None = None,
    cache_dir: Path | None = Path("/var/cache/runbook-debootstrap"),
    say: Callable[[str], None] = print,
) -> BuiltImage:
    """Build ``image`` unless an image of the same recipe is there (``force``: build anyway);
    then start it once to check it. Needs root (debootstrap), ``debootstrap`` and a Docker
    engine; anything missing is one EnvironmentMissing line."""
    docker = shutil.which("docker")
    if not docker:
        raise EnvironmentMissing(
            f"building {image} needs the docker client (apt-get install docker.io)"
        )
    if not force and image_recipe(image) == recipe_digest():
        version, startup = _check(image, None)
        return BuiltImage(image, False, _size(image), version, 0.0, startup, None)
    if os.geteuid() != 0:
        raise EnvironmentMissing(
            f"building {image} runs debootstrap, which needs root: run it with sudo"
        )
    if not shutil.which("debootstrap"):
        raise EnvironmentMissing(
            f"building {image} needs debootstrap (apt-get install debootstrap)"
        )
    release = debian_release()
    if log is None:
        log = Path(tempfile.gettempdir()) / "runbook-image-build.log"
    log.write_text(
        f"building {image} (recipe {recipe_digest()}) from {release}\n", encoding="utf-8"
    )
    steps = BuildSteps(log, say)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="runbook-image-", dir=workdir))
    try:
        cache = []
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            cache = [f"--cache-dir={cache_dir}"]
        steps.run(
            f"debootstrap {release.codename} (minbase, {', '.join(PACKAGES)}) from {release.mirror}",
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                *cache,
                release.codename,
                str(root / "rootfs"),
                release.mirror,
            ],
        )
        rootfs = root / "rootfs"
        _trim_and_add_entrypoint(rootfs)
        tarball = root / "rootfs.tar"
        steps.run(
            "packing the root file system", ["tar", "-C", str(rootfs), "-cf", str(tarball), "."]
        )
        changes = [
            arg
            for line in (*IMAGE_CONFIG, f"LABEL {RECIPE_LABEL}={recipe_digest()}")
            for arg in ("--change", line)
        ]
        with tarball.open("rb") as packed:
            steps.run(
                "docker import", [docker, "import", *changes, "-", image], stdin=packed.fileno()
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    seconds = time.monotonic() - started
    version, startup = _check(image, steps)
    return BuiltImage(image, True, _size(image), version, seconds, startup, log)


def _trim_and_add_entrypoint(rootfs: Path) -> None:
    for relative in TRIM:
        target = rootfs / relative
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(parents=True)
    if not (rootfs / PG_BIN.lstrip("/") / "postgres").exists():
        raise EnvironmentMissing(
            f"building {LOCAL_IMAGE}: debootstrap installed no {PG_BIN}/postgres"
        )
    if not list(rootfs.glob("usr/share/postgresql/15/extension/pg_stat_statements.control")):
        raise EnvironmentMissing(
            f"building {LOCAL_IMAGE}: postgresql-15 brought no pg_stat_statements"
        )
    script = rootfs / "usr/local/bin/docker-entrypoint.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(ENTRYPOINT, encoding="utf-8")
    script.chmod(0o755)


def _size(image: str) -> int:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return int(done.stdout.strip()) if done.stdout.strip().isdigit() else 0


def _check(image: str, steps: BuildSteps | None) -> tuple[str, float]:
    """Start one container of ``image`` as the drills do; its server version and the seconds
    from ``docker run`` to the first password login that loaded pg_stat_statements."""
    if steps is not None:
        steps.say(f"  {image}: checking: one container, a password login, pg_stat_statements")
    password = secrets.token_urlsafe(18)
    env = {**os.environ, "POSTGRES_PASSWORD": password, "PGPASSWORD": password}
    started = time.monotonic()
    run = subprocess.run(
        [
            "docker", "run", "-d", "--rm", "--label", "ai.napoleon.runbook.check=1",
            "-e", "POSTGRES_PASSWORD", image,
            "-c", "shared_preload_libraries=pg_stat_statements", "-c", "fsync=off",
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    if run.returncode != 0:
        raise EnvironmentMissing(f"{image} does not start: {_last_line(run.stderr)}")
    container = run.stdout.strip()
    query = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SHOW server_version"
    try:
        deadline, last = started + 60, ""
        while time.monotonic() < deadline:
            done = subprocess.run(
                [
                    "docker", "exec", "-e", "PGPASSWORD", container,
                    "psql", "-h", "127.0.0.1", "-U", "postgres", "-tAq", "-c", query,
                ],
                capture_output=True, text=True, env=env, timeout=60, check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return done.stdout.strip().splitlines()[-1].split()[0], time.monotonic() - started
            last = _last_line(done.stderr)
            time.sleep(0.1)
        raise EnvironmentMissing(f"{image} started but refused a password login for 60 s: {last}")
    finally:
        subprocess.run(
            ["docker", "rm", "-f", container], capture_output=True, timeout=60, check=False
        )


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


def main() -> None:
    """``python -m runbook_lib.drill.image [--force]``: build (or check) the image."""
    import sys

    try:
        built = build_image(force="--force" in sys.argv[1:])
    except EnvironmentMissing as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    print(describe(built))


def describe(built: BuiltImage) -> str:
    how = f"built in {built.build_seconds:.0f} s" if built.built else "present (same recipe)"
    return (
        f"{built.name}: {how}, {built.size_bytes / 1e6:.0f} MB, PostgreSQL {built.server_version}, "
        f"a container answers {built.startup_seconds:.1f} s after start"
        + (f"; build log {built.log}" if built.log else "")
    )


if __name__ == "__main__":
    main()
