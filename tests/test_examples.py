"""The sharded-drill examples (GitHub Actions matrix, Kubernetes Indexed Job, Argo Workflow)
start exactly the shards 1/N ... N/N, and their merge reads where the shards write.

Each command line is run as written (by the shell the engine would use, with ``runbook``
replaced by a stub that prints its arguments), so quoting and shell arithmetic are real; then
the arguments are parsed by the real CLI's parser (click, under typer)."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

try:  # typer vendors its own copy of click since 0.2x
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click import UsageError  # type: ignore[assignment]

from runbook_lib.drill.cli import app
from runbook_lib.drill.shard import Shard
from runbook_lib.paths import DEFAULT_FEATURES
from tests.helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "dr-drill.yml"
EXAMPLES = ROOT / "docs" / "examples"
# `runbook ARGS` prints ARGS as one JSON line (POSIX sh and bash alike)
STUB = f"runbook() {{ {sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\"; }}\n"


def _runbook_lines(shell: str, script: str, env: dict[str, str], cwd: Path) -> list[list[str]]:
    """Every `runbook` command ``script`` runs, as argument lists."""
    done = subprocess.run(
        [shell, "-c", STUB + script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _parse(argv: list[str]) -> dict[str, Any]:
    """``runbook ARGV`` through the real CLI's parser: its parameters, or click's refusal."""
    command = typer.main.get_command(app).commands[argv[0]]  # type: ignore[attr-defined]
    with command.make_context(argv[0], list(argv[1:])) as context:
        params = dict(context.params)
    if argv[0] == "drill":
        known = {p.stem for p in DEFAULT_FEATURES.glob("*.feature")}
        assert set(params["only"] or []) <= known, params["only"]
    return params


def _shards(params: list[dict[str, Any]]) -> list[str]:
    return sorted(str(Shard.parse(p["shard"])) for p in params)


def _whole(count: int) -> list[str]:
    return sorted(f"{i}/{count}" for i in range(1, count + 1))


def test_the_parser_refuses_what_the_cli_would() -> None:
    with pytest.raises(UsageError):
        _parse(["drill", "--no-such-option"])
    with pytest.raises(UsageError):
        _parse(["merge"])  # no directory


# GitHub Actions


def _workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def test_the_workflow_runs_every_shard_of_n_as_a_matrix(tmp_path: Path) -> None:
    workflow = _workflow()
    count = int(workflow["env"]["SHARDS"])
    job = workflow["jobs"]["drill"]
    matrix = job["strategy"]["matrix"]["shard"]
    assert len(matrix) == count
    assert job["strategy"]["fail-fast"] is False
    step = next(s for s in job["steps"] if "runbook drill" in s.get("run", ""))
    assert "${{" not in step["run"]  # values reach the shell as variables
    params, report_dirs = [], []
    for shard in matrix:
        env = {"SHARDS": str(count), "SHARD": str(shard), "FAULT": "", "TARGET": ""}
        (argv,) = _runbook_lines("bash", step["run"], {**env, "STAND_INS": "false"}, tmp_path)
        params.append(_parse(argv))
        report_dirs.append(params[-1]["report_dir"])
        upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload"))
        expand = {"${{ matrix.shard }}": str(shard)}
        path = upload["with"]["path"]
        name = upload["with"]["name"]
        for expression, value in expand.items():
            path, name = path.replace(expression, value), name.replace(expression, value)
        assert Path(path) == Path(params[-1]["report_dir"])  # the shard uploads what it wrote
        merge_download = next(
            s
            for s in workflow["jobs"]["merge"]["steps"]
            if "download-artifact" in s.get("uses", "")
        )
        assert fnmatch.fnmatch(name, merge_download["with"]["pattern"])
    assert _shards(params) == _whole(count)
    assert len(set(report_dirs)) == count
    # a game day and a target pass through too
    env = {"SHARDS": "4", "SHARD": "2", "FAULT": "supabase-outage", "TARGET": "staging"}
    (argv,) = _runbook_lines("bash", step["run"], {**env, "STAND_INS": "true"}, tmp_path)
    parsed = _parse(argv)
    assert (parsed["fault"], parsed["target"], parsed["stand_ins"]) == (
        "supabase-outage",
        "staging",
        True,
    )


def test_the_workflow_merges_every_downloaded_shard_even_after_a_failure(tmp_path: Path) -> None:
    workflow = _workflow()
    merge = workflow["jobs"]["merge"]
    assert merge["needs"] == "drill"
    assert merge["if"] == "always()"
    download = next(s for s in merge["steps"] if "download-artifact" in s.get("uses", ""))
    step = next(s for s in merge["steps"] if "runbook merge" in s.get("run", ""))
    for shard in (1, 2, 3):
        (tmp_path / download["with"]["path"] / f"dr-drill-shard-{shard}").mkdir(parents=True)
    (argv,) = _runbook_lines("bash", step["run"], {}, tmp_path)
    params = _parse(argv)
    assert sorted(Path(p).name for p in params["run_dirs"]) == [
        f"dr-drill-shard-{i}" for i in (1, 2, 3)
    ]
    # no shard uploaded anything: the job fails, saying so
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        ["bash", "-c", STUB + step["run"]], capture_output=True, text=True, cwd=empty
    )
    assert done.returncode == 1
    assert "no shard uploaded evidence" in done.stderr


# Kubernetes


def _container(document: dict[str, Any]) -> dict[str, Any]:
    containers = document["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _script(container: dict[str, Any], mounts: dict[str, str], tmp_path: Path) -> str:
    assert container["command"] in (["/bin/sh", "-c"], ["sh", "-c"])
    (script,) = container["args"]
    for path in mounts.values():
        script = script.replace(path, str(tmp_path / path.strip("/")))
    return str(script)


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in container.get("env", [])}


def _mounts(document: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """claim name -> mount path."""
    volumes = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in document["spec"]["template"]["spec"]["volumes"]
    }
    return {volumes[m["name"]]: m["mountPath"] for m in container["volumeMounts"]}


def test_the_indexed_job_runs_every_shard_once_and_the_merge_reads_them(tmp_path: Path) -> None:
    (job,) = yaml.safe_load_all((EXAMPLES / "k8s-drill-job.yml").read_text())
    (merge_job,) = yaml.safe_load_all((EXAMPLES / "k8s-merge-job.yml").read_text())
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["spec"]["completionMode"] == "Indexed"
    count = int(job["spec"]["completions"])
    container = _container(job)
    mounts = _mounts(job, container)
    script = _script(container, mounts, tmp_path)
    params = []
    for index in range(count):  # Kubernetes sets JOB_COMPLETION_INDEX from 0
        env = {**_env(container), "JOB_COMPLETION_INDEX": str(index)}
        (argv,) = _runbook_lines("sh", script, env, tmp_path)
        params.append(_parse(argv))
        Path(params[-1]["report_dir"]).mkdir(parents=True)  # what the shard writes
    assert _shards(params) == _whole(count)
    # the merge job mounts the same claim at the same place and reads every shard written
    merge_container = _container(merge_job)
    assert _mounts(merge_job, merge_container) == mounts
    assert _env(merge_container)["RUN"] == _env(container)["RUN"]
    (argv,) = _runbook_lines(
        "sh", _script(merge_container, mounts, tmp_path), _env(merge_container), tmp_path
    )
    merged = _parse(argv)
    assert sorted(Path(p) for p in merged["run_dirs"]) == sorted(
        Path(p["report_dir"]) for p in params
    )
    assert merged["output"] not in {Path(p["report_dir"]) for p in params}


# Argo Workflows


def _substitute(value: str, parameters: dict[str, str]) -> str:
    for name, text in parameters.items():
        value = value.replace("{{" + name + "}}", text)
    assert "{{" not in value, value
    return value


def test_the_argo_workflow_fans_out_every_shard_then_merges_them(tmp_path: Path) -> None:
    (workflow,) = yaml.safe_load_all((EXAMPLES / "argo-restore-drill.yml").read_text())
    assert (workflow["apiVersion"], workflow["kind"]) == ("argoproj.io/v1alpha1", "Workflow")
    spec = workflow["spec"]
    globals_ = {
        f"workflow.parameters.{p['name']}": str(p["value"]) for p in spec["arguments"]["parameters"]
    }
    templates = {t["name"]: t for t in spec["templates"]}
    (fan_out,), (merge_step,) = templates[spec["entrypoint"]]["steps"]
    sequence = fan_out["withSequence"]
    start = int(sequence["start"])
    end = int(_substitute(sequence["end"], globals_))
    count = int(globals_["workflow.parameters.shards"])
    assert (start, end) == (1, count)
    assert fan_out["continueOn"]["failed"] is True  # the merge states a failed shard
    shard = templates[fan_out["template"]]["container"]
    assert shard["command"] == ["runbook"]
    params = []
    for item in range(start, end + 1):
        local = {**globals_, "inputs.parameters.shard": str(item)}
        params.append(_parse([_substitute(a, local) for a in shard["args"]]))
        env = {e["name"]: _substitute(e["value"], local) for e in shard["env"]}
        from runbook_lib.drill.options import Settings

        settings = Settings.from_environ({**env, "RUNBOOK_PG_TMPDIR": ""})
        assert settings.drill_db_bytes >= 2**30  # production size, not the 32MB default
    assert _shards(params) == _whole(count)
    assert {p["workers"] for p in params} == {"0"}
    # the merge reads every shard's directory on the shared volume
    merge = templates[merge_step["template"]]["container"]
    assert merge["command"] == ["/bin/sh", "-c"]
    (script,) = merge["args"]
    root = tmp_path / "evidence"
    for p in params:
        (root / Path(p["report_dir"]).relative_to("/evidence")).mkdir(parents=True)
    (argv,) = _runbook_lines("sh", script.replace("/evidence", str(root)), {}, tmp_path)
    merged = _parse(argv)
    assert sorted(Path(p).name for p in merged["run_dirs"]) == sorted(
        Path(p["report_dir"]).name for p in params
    )
    (artifact,) = templates[merge_step["template"]]["outputs"]["artifacts"]
    assert Path(artifact["path"]) == Path(str(merged["output"]).replace(str(root), "/evidence"))
