"""Settings for the unit and property tests of runbook_lib (runbook_lib/drill/scenarios.py binds the drills)."""

from __future__ import annotations

import os

from hypothesis import settings

# Built on hypothesis' own "ci" profile (derandomized, no deadline), which switches on when CI is set.
settings.register_profile("ci", settings.get_profile("ci"), max_examples=150)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
