"""Example counts for property tests: a test's own count under the test command (``ci``
profile), that count times ``FUZZ_SCALE`` (default 25) under ``./scripts/fuzz``."""

from __future__ import annotations

import os

SCALE = (
    int(os.environ.get("FUZZ_SCALE", "25")) if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 1
)


def examples(n: int) -> int:
    """How many examples a property test with ``n`` examples in CI runs now."""
    return n * SCALE
