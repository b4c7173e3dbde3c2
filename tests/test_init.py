"""Tests of the package root: lazy public names, quiet logging, a light import."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

import qa_insights


@pytest.mark.parametrize("name", qa_insights.__all__)
def test_every_public_name_resolves(name):
    assert getattr(qa_insights, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        qa_insights.no_such_thing  # noqa: B018


def test_package_logger_has_only_a_null_handler():
    handlers = logging.getLogger("qa_insights").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_import_does_not_load_torch_or_bertopic():
    code = ("import sys, qa_insights; "
            "print(sorted(m for m in ('torch', 'bertopic', 'umap', 'spacy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
