"""The fault registry: one entry per fault, found by name or by the words the features use,
game-day lookups and verdicts, and what the faults really do to what they act on."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from runbook_lib.drill import faults
from runbook_lib.drill.faults import dumps
from runbook_lib.errors import ConfigurationError
from runbook_lib.guide.features import read_features
from runbook_lib.paths import DEFAULT_FEATURES
from runbook_lib.sim.cloud import SimulatedCloud


def _step_texts() -> set[str]:
    """Every step text of the features, outlines expanded with each row of their examples."""
    texts: set[str] = set()
    for feature in read_features(DEFAULT_FEATURES):
        for scenario in feature.scenarios:
            rows = [
                dict(zip(table.header, row.cells, strict=True))
                for table in scenario.examples
                for row in table.body
            ] or [{}]
            for values in rows:
                for step in scenario.steps:
                    text = step.text
                    for name, value in values.items():
                        text = text.replace(f"<{name}>", value)
                    texts.add(text)
    return texts


STEPS = _step_texts()


def test_every_fault_has_one_name_and_says_its_own_words() -> None:
    names = [f.name for f in faults.CATALOGUE]
    said = [f.says for f in faults.CATALOGUE if f.says]
    assert len(names) == len(set(names))
    assert len(said) == len(set(said))
    assert {f.expected for f in faults.CATALOGUE} == {"detected", "survived"}
    assert all(f.breaks for f in faults.CATALOGUE)


@pytest.mark.parametrize("fault", [f for f in faults.CATALOGUE if f.says], ids=lambda f: f.name)
def test_the_features_use_every_fault_in_the_registrys_words(
    fault: faults.Fault[object, object],
) -> None:
    assert any(fault.says in text for text in STEPS), f"no feature step says {fault.says!r}"


def test_scenarios_find_a_fault_by_name_or_by_their_words() -> None:
    by_words = faults.find(faults.DUMPS, "the stored backup is truncated")
    assert by_words is faults.find(faults.DUMPS, "truncated-dump")
    with pytest.raises(ConfigurationError, match=r"known faults: .*corrupted-dump"):
        faults.find(faults.DUMPS, "the stored backup is eaten by a grue")


def test_game_days_take_run_wide_faults_only() -> None:
    assert faults.run_wide("supabase-outage").expected == "detected"
    assert faults.run_wide("s3-throttling").expected == "survived"
    with pytest.raises(ConfigurationError, match="injected by its own scenarios"):
        faults.run_wide("corrupted-dump")
    with pytest.raises(
        ConfigurationError, match=r"run-wide faults: supabase-outage.*runbook faults"
    ):
        faults.run_wide("meteor")


def test_verdict() -> None:
    assert faults.verdict("detected", 3)
    assert not faults.verdict("detected", 0)
    assert faults.verdict("survived", 0)
    assert not faults.verdict("survived", 1)


def _status(sim: SimulatedCloud) -> int:
    transport = httpx.MockTransport(sim.supabase.handle)
    with httpx.Client(transport=transport) as client:
        url = f"{sim.supabase.base_url}/v1/projects/{sim.target.supabase_project}/database/backups"
        headers = {"Authorization": f"Bearer {sim.credentials.supabase_access_token}"}
        return client.get(url, headers=headers).status_code


def test_a_game_day_breaks_the_simulated_cloud_only_with_a_run_wide_fault() -> None:
    untouched, scenario_only, outage = SimulatedCloud(), SimulatedCloud(), SimulatedCloud()
    faults.apply_to_cloud(None, untouched)
    faults.apply_to_cloud("supabase-token-revoked", scenario_only)
    faults.apply_to_cloud("supabase-outage", outage)
    assert (_status(untouched), _status(scenario_only), _status(outage)) == (200, 200, 503)
    faults.find(faults.CLOUD, "the Management API rejects the access token").apply(untouched)
    assert _status(untouched) == 401


def test_dump_damage_keeps_or_recomputes_the_checksum() -> None:
    data = bytes(range(256)) * 4
    assert len(dumps.truncate(data)) == len(data) // 2
    flipped = dumps.flip_bytes(data)
    assert len(flipped) == len(data)
    assert sum(a != b for a, b in zip(data, flipped, strict=True)) == 16
    assert dumps.checksum_metadata(flipped) == {
        "sha256": hashlib.sha256(flipped).hexdigest(),
        "size": str(len(data)),
    }
