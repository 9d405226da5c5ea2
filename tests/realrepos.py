"""Real third-party projects for field tests: PyPI sdists, fetched at test time, never committed.

Each is downloaded once with ``pip download --no-binary :all: --no-deps`` into a cache beside
the virtual environment (like the pinned Claude Code), checked against its pinned sha256,
unpacked (as the user running the tests: an sdist's own file owners would make git refuse
the tree), ``git init``-ed and committed, the way a new user would start.

The picks (from a survey of 42 sdists): each ships its tests, needs nothing but pytest, runs
offline in a few seconds, and none is a package pytest or flake8 import themselves (the gate
puts the checkout first on the import path, which would replace the tool's own copy).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("SHOPFLOOR_SDIST_CACHE") or Path(sys.executable).parent.parent / "sdists")


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once) with ``new`` in ``path``."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    sha256: str
    harmless: Edit
    breaking: Edit
    failing_test: str  # a test id the breaking edit fails
    exception: str  # what its failure says
    new_lint: Edit  # adds exactly one linter finding
    lint_finding: str  # "path:line: CODE"
    lint_check: str  # the check that reports it
    debt: bool  # the linter already reports findings on the untouched tree


PROJECTS = {
    "inflection": Project(
        "inflection",
        "0.5.1",
        "1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417",
        harmless=Edit("inflection/__init__.py", "import re\n", "import re  # regular expressions\n"),
        breaking=Edit("inflection/__init__.py", "return word.replace('_', '-')", "return word.replace('_', '+')"),
        failing_test="test_inflection.py::test_dasherize[street_address-street-address]",
        exception="AssertionError: assert 'street+address' == 'street-address'",
        new_lint=Edit("inflection/__init__.py", "import re\n", "import os\nimport re\n"),
        lint_finding="inflection/__init__.py:12: F401",
        lint_check="flake8",
        debt=True,
    ),
    "six": Project(
        "six",
        "1.17.0",
        "ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81",
        harmless=Edit("six.py", "import operator\n", "import operator  # itemgetter and friends\n"),
        breaking=Edit("six.py", 'return s.encode("latin-1")', 'return s.encode("utf-8")'),
        failing_test="test_six.py::test_b",
        exception="assert 2 == 1",
        new_lint=Edit("six.py", "import operator\n", "import operator\nimport os\n"),
        lint_finding="six.py:28: F401",
        lint_check="flake8",
        debt=True,
    ),
    "tabulate": Project(
        "tabulate",
        "0.10.0",
        "e2cfde8f79420f6deeffdeda9aaec3b6bc5abce947655d17ac662b126e48a60d",
        harmless=Edit("tabulate/__init__.py", "import warnings\n", "import warnings  # deprecations\n"),
        breaking=Edit("tabulate/__init__.py", "return max(map(line_width_fn,", "return min(map(line_width_fn,"),
        failing_test="test/test_internal.py::test_multiline_width",
        exception="AssertionError",
        new_lint=Edit("tabulate/__init__.py", "import warnings\n", "import os\nimport warnings\n"),
        lint_finding="tabulate/__init__.py:13: F401",
        lint_check="flake8",
        debt=False,
    ),
}


def sdist(project: Project) -> Path:
    """The project's sdist, from the cache or the package registry, checked against its sha256."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = f"{project.name}-{project.version}.tar.gz"
    found = CACHE / wanted
    if not found.exists():
        scratch = CACHE / f".download-{os.getpid()}"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
             f"{project.name}=={project.version}", "-d", str(scratch)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        tarballs = list(scratch.glob("*.tar.gz")) if done.returncode == 0 else []
        if not tarballs:
            shutil.rmtree(scratch, ignore_errors=True)
            pytest.fail(
                f"could not download the sdist of {project.name}=={project.version} from PyPI "
                f"(pip download: {done.stderr.strip()[-300:]}); these tests need the package registry once, "
                f"then use the cache in {CACHE}",
                pytrace=False,
            )
        os.replace(tarballs[0], found)
        shutil.rmtree(scratch, ignore_errors=True)
    digest = hashlib.sha256(found.read_bytes()).hexdigest()
    if digest != project.sha256:
        found.unlink()
        pytest.fail(f"{wanted} has sha256 {digest}, not the pinned {project.sha256}: removed it", pytrace=False)
    return found


def unpack(project: Project, where: Path, env: dict[str, str]) -> Path:
    """The project as a fresh git repository on ``main`` with one commit of the sdist's files."""
    with tarfile.open(sdist(project)) as archive:
        archive.extractall(where, filter="data")  # files owned by us, nothing outside ``where``
    root = where / f"{project.name}-{project.version}"
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", f"{project.name} {project.version}"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root


def apply(root: Path, edit: Edit) -> None:
    path = root / edit.path
    text = path.read_text(encoding="utf-8")
    assert text.count(edit.old) == 1, f"{edit.path}: {edit.old!r} occurs {text.count(edit.old)} times"
    path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
