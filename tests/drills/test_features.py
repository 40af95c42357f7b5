"""Binds every feature file under features/ to pytest (one module, as jrnl does)."""

from pytest_bdd import scenarios

scenarios(".")
