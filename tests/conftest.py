"""Shared test fixtures.

Tests that read the public data sets in ``../shared/data/`` skip (with the reason) when that folder
is absent, as in a user's own clone; in CI it is always there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("QA_INSIGHTS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_data_path(*parts: str) -> Path:
    """Path to a file under ``../shared/data``; skips the test when it is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared/data")
        pytest.skip(f"{path} not found: the shared public data sets are not beside this clone")
    return path


@pytest.fixture(scope="session")
def banking77_test_csv() -> Path:
    return shared_data_path("banking77", "test.csv")


@pytest.fixture(scope="session")
def openai_moderation_jsonl() -> Path:
    return shared_data_path("openai_moderation", "samples-1680.jsonl")
