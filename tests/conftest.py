"""Shared test settings.

Hypothesis runs a fixed, derandomised profile so that CI is reproducible:
the same examples on every run, a few hundred per property.
"""

import os

import torch
from hypothesis import HealthCheck, settings

# One thread for torch, as in the chapters and the benchmark: on a shared 2-core
# machine more threads only contend (tiny training steps were 10x slower).
torch.set_num_threads(1)

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("CNNLIB_HYPOTHESIS_EXAMPLES", "300")),
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


import pytest  # noqa: E402

from book_build import ROOT, build  # noqa: E402


@pytest.fixture(scope="session")
def built_book():
    """The whole book, built once per test session as CI builds it, into ``_build/html``.

    While working on the browser or JupyterLab tests, ``CNNLIB_REUSE_BUILD=1`` uses
    the existing ``_build/html`` of a ``make book`` instead (never in CI).
    """
    if os.environ.get("CNNLIB_REUSE_BUILD") == "1" and (ROOT / "_build" / "html" / "index.html").exists():
        return ROOT / "_build" / "html"
    result = build(ROOT)
    assert result.returncode == 0, (
        "the book does not build cleanly:\n" + result.stdout[-6000:] + result.stderr[-6000:]
    )
    return ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def playwright():
    """The one Playwright driver of the session: the sync API runs its own event loop, and a
    second ``sync_playwright()`` while the first is alive fails ("inside the asyncio loop"). The
    browser tests and the JupyterLab tests both launch their Chromium from this one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver
