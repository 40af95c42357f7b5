"""Root conftest: the drills' pytest plugin (fixtures, steps, options, tag conventions)."""

pytest_plugins = ["runbook_lib.drill.plugin"]
