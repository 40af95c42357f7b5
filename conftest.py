"""Root conftest: the plugin list only (fixtures, then one steps module per domain)."""

pytest_plugins = [
    "fixtures.config",
    "fixtures.postgres",
    "fixtures.cloud",
    "fixtures.recovery",
    "fixtures.evidence",
    "steps.common",
    "steps.guide",
    "steps.environment",
    "steps.backup",
    "steps.objectives",
    "steps.incidents",
    "steps.reviews",
    "steps.maintenance",
    "steps.deployment",
    "steps.security",
    "steps.performance",
    "steps.alerting",
]
