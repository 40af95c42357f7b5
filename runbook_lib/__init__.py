"""runbook_lib: executable drills for Napoleon AI's Production Operations Guide."""

__version__ = "0.1.0"
