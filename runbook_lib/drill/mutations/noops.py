"""Procedure no-ops: a procedure, or the detector a check relies on, replaced by one that does
nothing and reports success. Each scenario that claims the procedure worked (or that the
detector caught something) must turn red. Kept few and explicit: every replacement is a named
function below with the signature of what it replaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runbook_lib.drill.mutations.base import Mutation, Patch
from runbook_lib.world.shell import CommandResult

RESTORE = "runbook_lib.procedures.backup_recovery.restore"
SECURITY = "runbook_lib.procedures.security"
INCIDENTS = "runbook_lib.procedures.incident_response"
DEPLOY = "runbook_lib.procedures.deployment.deploy"


def _returns(value: Any) -> Callable[[Any], Callable[..., Any]]:
    """A replacement that ignores its arguments and returns ``value``."""

    def make(_original: Any) -> Callable[..., Any]:
        def nothing(*_args: Any, **_kwargs: Any) -> Any:
            return value

        return nothing

    return make


def _restore_nothing(_original: Any) -> Callable[..., CommandResult]:
    def restore_dump(*_args: Any, **_kwargs: Any) -> CommandResult:
        return CommandResult(("pg_restore",), 0, "", "", 0.0)  # exit 0, nothing restored

    return restore_dump


def _upload_nothing(_original: Any) -> Callable[..., Any]:
    from runbook_lib.procedures.backup_recovery.backup import DB_PREFIX, StoredBackup

    def upload_backup(_s3: Any, backup: Any, _bucket: str) -> StoredBackup:
        key = f"{DB_PREFIX}{backup.taken_at:%Y%m%dT%H%M%SZ}/{backup.path.name}"
        return StoredBackup(key, backup.sha256, backup.size_bytes, backup.taken_at.isoformat())

    return upload_backup


def _never_retries(original: Callable[..., Any]) -> Callable[..., Any]:
    def request(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.retries = 0
        return original(self, *args, **kwargs)

    return request


def _gate_without_reports(original: Callable[..., None]) -> Callable[..., None]:
    def readiness_gate(checklist: tuple[str, ...], _status: dict[str, bool]) -> None:
        original(checklist, {})  # the pipeline's checklist reports never reach the gate

    return readiness_gate


def _rollback_nothing(_original: Any) -> Callable[..., Any]:
    from runbook_lib.errors import ProcedureFailed
    from runbook_lib.procedures.deployment.deploy import Rollback

    def rollback_production(vercel: Any, *_: Any) -> Rollback:
        current = vercel.client.production()
        if current is None:
            raise ProcedureFailed("nothing is in production: there is nothing to roll back")
        return Rollback(current.id, current, 0.0)  # says it rolled back; production unchanged

    return rollback_production


def _redeploy_nothing(_original: Any) -> Callable[..., Any]:
    from runbook_lib.procedures.deployment.deploy import Redeploy

    def redeploy(vercel: Any, *_: Any) -> Redeploy:
        # says it redeployed; production unchanged
        return Redeploy(vercel.client.production(), 0.0, promoted=False)

    return redeploy


def _rotate_without_revoking(original: Callable[..., Any]) -> Callable[..., Any]:
    class KeepsOldKey:
        def __init__(self, provider: Any) -> None:
            self.provider = provider

        def issue(self) -> str:
            return str(self.provider.issue())

        def revoke(self, key: str) -> None:
            return None

        def status_with(self, key: str) -> int:
            return int(self.provider.status_with(key))

    def rotate(name: str, provider: Any, credentials: dict[str, str]) -> Any:
        return original(name, KeepsOldKey(provider), credentials)

    return rotate


def _escalation_pages_at_once(_original: Any) -> Callable[..., Any]:
    def next_escalation(self: Any, incident: Any) -> Any:
        if incident.acknowledged_at is not None or incident.level >= len(self.ladder):
            return None
        return incident.pages[-1].at  # no response deadline: the next rung is due at once

    return next_escalation


def _escalation_ignores_acknowledgement(_original: Any) -> Callable[..., None]:
    def acknowledge(self: Any, incident_id: str) -> None:
        self.tick()  # the acknowledgement itself is dropped

    return acknowledge


def _evidence_not_preserved(_original: Any) -> Callable[..., Any]:
    def preserve_evidence(self: Any, *_args: Any, **_kwargs: Any) -> Any:
        return self.evidence  # nothing snapshotted, nothing locked

    return preserve_evidence


def _noop(
    name: str, breaks: str, features: tuple[str, ...], *patches: tuple[str, Callable[[Any], Any]]
) -> Mutation:
    return Mutation(
        name,
        "procedure no-op",
        breaks,
        features,
        patches=tuple(Patch(target, make) for target, make in patches),
    )


NOOPS: tuple[Mutation, ...] = (
    # -- Backup & Recovery --
    _noop(
        "restore-restores-nothing",
        "pg_restore exits 0 having restored nothing into the scratch database",
        ("backup_recovery", "recovery_objectives", "deployment"),
        (f"{RESTORE}:restore_dump", _restore_nothing),
    ),
    _noop(
        "restore-verification-disabled",
        "the table-by-table verification of a restore accepts any copy",
        ("backup_recovery",),
        ("runbook_lib.procedures.backup_recovery.verify:require_identical", _returns(None)),
    ),
    _noop(
        "plain-sql-restore-restores-nothing",
        "the corrected psql restore of a plain SQL backup does nothing",
        ("backup_recovery",),
        (f"{RESTORE}:restore_plain", _returns(CommandResult(("psql",), 0, "", "", 0.0))),
    ),
    _noop(
        "backup-upload-uploads-nothing",
        "the backup upload reports a stored key but puts nothing in the bucket",
        ("backup_recovery",),
        ("runbook_lib.procedures.backup_recovery.backup:upload_backup", _upload_nothing),
    ),
    _noop(
        "storage-restore-copies-nothing",
        "restoring the storage bucket from a dated backup copies nothing",
        ("backup_recovery", "recovery_objectives"),
        ("runbook_lib.procedures.backup_recovery.storage:restore_prefix", _returns(0)),
    ),
    _noop(
        "api-client-never-retries",
        "the Management API client gives up after the first failed request",
        ("backup_recovery",),
        ("runbook_lib.world.http:ApiClient.request", _never_retries),
    ),
    # -- Incident Response --
    _noop(
        "escalation-never-escalates",
        "the escalation timer is never armed: no rung after the first is ever due",
        ("incident_response",),
        (f"{INCIDENTS}.incidents:Escalation.next_escalation", _returns(None)),
    ),
    _noop(
        "escalation-waits-for-no-deadline",
        "the escalation waits for no response deadline: every rung is paged at once",
        ("incident_response",),
        (f"{INCIDENTS}.incidents:Escalation.next_escalation", _escalation_pages_at_once),
    ),
    _noop(
        "acknowledgement-ignored",
        "acknowledging an incident does not stop its escalation",
        ("incident_response",),
        (f"{INCIDENTS}.incidents:Escalation.acknowledge", _escalation_ignores_acknowledgement),
    ),
    _noop(
        "announcement-sends-nothing",
        "announcing an incident sends no message to any channel",
        ("incident_response",),
        (f"{INCIDENTS}.communications:Notifier.announce", _returns([])),
    ),
    _noop(
        "stakeholder-filter-ignored",
        "the notifier's stakeholder filter lets every severity through to stakeholders",
        ("incident_response",),
        (f"{INCIDENTS}.communications:stakeholder_levels", _returns({"P0", "P1", "P2", "P3"})),
    ),
    _noop(
        "evidence-not-preserved",
        "preserving evidence of a security incident snapshots and locks nothing",
        ("incident_response",),
        (f"{SECURITY}.response:SecurityResponse.preserve_evidence", _evidence_not_preserved),
    ),
    # -- Maintenance Windows, Monitoring & Alerting --
    _noop(
        "maintenance-notices-send-nothing",
        "the maintenance notices go to no channel",
        ("maintenance_windows",),
        ("runbook_lib.procedures.maintenance_windows:send_notices", _returns(None)),
    ),
    _noop(
        "alerts-never-reach-alertmanager",
        "the evaluator's alerts are never posted to Alertmanager",
        ("monitoring_alerting",),
        ("runbook_lib.monitoring.alertmanager_server:Alertmanager.post_alerts", _returns(None)),
    ),
    # -- Deployment --
    _noop(
        "readiness-gate-checks-nothing",
        "the release gate lets every release through",
        ("deployment",),
        (f"{DEPLOY}:readiness_gate", _returns(None)),
    ),
    _noop(
        "checklist-reports-lost",
        "the checklist reports never reach the release gate",
        ("deployment",),
        (f"{DEPLOY}:readiness_gate", _gate_without_reports),
    ),
    _noop(
        "rollback-rolls-back-nothing",
        "`vercel rollback --prod` reports success and leaves production as it was",
        ("deployment",),
        (f"{DEPLOY}:rollback_production", _rollback_nothing),
    ),
    _noop(
        "redeploy-deploys-nothing",
        "the application recovery redeploy reports success and deploys nothing",
        ("deployment",),
        (f"{DEPLOY}:redeploy", _redeploy_nothing),
    ),
    _noop(
        "health-check-checks-nothing",
        "every Vercel deployment is taken for healthy without asking it",
        ("deployment",),
        ("runbook_lib.procedures.deployment.vercel:VercelClient.healthy", _returns(True)),
    ),
    # -- Security --
    _noop(
        "role-model-not-created",
        "the team's database roles are never created",
        ("security",),
        (f"{SECURITY}.access:create_role_model", _returns(None)),
    ),
    _noop(
        "access-check-blind",
        "the access check reports no role, whatever the catalog grants",
        ("security",),
        (f"{SECURITY}.access:policy_violations", _returns([])),
    ),
    _noop(
        "emergency-access-never-revoked",
        "closing the emergency window leaves the role able to log in",
        ("security",),
        (f"{SECURITY}.access:revoke_emergency_access", _returns(None)),
    ),
    _noop(
        "key-rotation-keeps-old-keys",
        "rotating a key issues a new one and never revokes the old one",
        ("security",),
        (f"{SECURITY}.keys:rotate", _rotate_without_revoking),
    ),
    _noop(
        "bucket-hardening-does-nothing",
        "hardening a bucket sets no encryption and no TLS-only policy",
        ("security",),
        (f"{SECURITY}.encryption:harden_bucket", _returns(None)),
    ),
    _noop(
        "encryption-check-blind",
        "the bucket encryption check reports no problem, whatever the bucket",
        ("security",),
        (f"{SECURITY}.encryption:bucket_problems", _returns([])),
    ),
    _noop(
        "user-deletion-deletes-nothing",
        "a user's deletion request deletes no row and no upload",
        ("security",),
        (f"{SECURITY}.gdpr:delete_user", _returns(0)),
    ),
    _noop(
        "lifecycle-expires-nothing",
        "the backup bucket's lifecycle rule expires nothing",
        ("security",),
        (f"{SECURITY}.gdpr:apply_lifecycle", _returns([])),
    ),
    _noop(
        "card-data-check-blind",
        "the card data check finds nothing, whatever the database holds",
        ("security",),
        (f"{SECURITY}.compliance:card_data_findings", _returns(([], []))),
    ),
)
