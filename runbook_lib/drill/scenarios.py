"""Binds every feature file of the features directory to pytest (one module, as jrnl does).

The directory is pytest-bdd's ``bdd_features_base_dir`` (``runbook drill --features DIR``
sets it; the repository's pyproject.toml points it at the packaged features).
"""

from pytest_bdd import scenarios

scenarios(".")
