"""Binds every feature file under features/ to pytest (one module, as jrnl does)."""

from pathlib import Path

from pytest_bdd import scenarios

scenarios(str(Path(__file__).resolve().parents[2] / "features"))
