"""YAML in and out, through libyaml where PyYAML was built with it (ten times faster than the
pure-Python parser on the drill's rule and Alertmanager files, which every monitoring scenario
reads): the same YAML 1.1 safe schema either way, so what a document means does not change."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

YAMLError = yaml.YAMLError


def load(text: str) -> Any:
    """The document in ``text`` (safe schema: no Python objects); YAMLError when malformed."""
    return yaml.load(text, Loader=_LOADER)


def dump(document: object, width: int = 200) -> str:
    """``document`` as block YAML in its own key order."""
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, width=width)
