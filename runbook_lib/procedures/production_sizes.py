"""Production's size, which the Recovery Time Objectives' predictions scale a drill's measured
restore to (guide: Recovery Time Objectives): the defaults, and sizes as a person writes them
(``RUNBOOK_PRODUCTION_DB_SIZE=8GiB``). Kept apart from the procedures so that reading the
environment (``drill.options.Settings``) imports no cloud client.
"""

from __future__ import annotations

import re

from runbook_lib.errors import ConfigurationError

# Production sizes the predictions scale to, unless the environment says otherwise
# (RUNBOOK_PRODUCTION_DB_SIZE, _STORAGE_SIZE, _STORAGE_OBJECTS: see drill.options.Settings)
DEFAULT_PRODUCTION_DB_BYTES = 8 * 1024**3  # 8 GiB; Supabase Pro logical backups cover up to 15 GB
DEFAULT_PRODUCTION_STORAGE_BYTES = 20 * 1024**3  # 20 GiB of uploads and assets
DEFAULT_PRODUCTION_STORAGE_OBJECTS = 100_000


def parse_size(text: str) -> int:
    """ "8GiB", "500 MB", "1024" (bytes) -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ConfigurationError(f"size {text!r} is not like 8GiB, 500MB or 1024")
    unit = (match.group(2) or "B").upper()
    factor = {
        "B": 1,
        "KB": 1000,
        "MB": 1000**2,
        "GB": 1000**3,
        "TB": 1000**4,
        "KIB": 1024,
        "MIB": 1024**2,
        "GIB": 1024**3,
        "TIB": 1024**4,
    }[unit]
    return int(float(match.group(1)) * factor)
