"""bench/ingest.py --before-src: an older source tree's code runs whole, not its top under the current
checkout's sub-packages (the editable install maps figvault.pipeline etc. to the checkout it was made
from)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.bench_module import load_bench

PYPROJECT = """[tool.setuptools]
package-dir = { "figvault" = "figvault", "figvault.pipeline" = "pipeline", "figvault.ingest" = "ingest" }
packages = ["figvault", "figvault.pipeline", "figvault.ingest"]
"""


def source_tree(root: Path) -> Path:
    """A source tree laid out as this repository: sub-packages beside ``figvault/``, each saying it is old."""
    for folder in ("figvault", "pipeline", "ingest"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text(f'WHICH = "old {folder}"\n')
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def test_a_source_tree_runs_its_own_sub_packages(tmp_path: Path) -> None:
    bench = load_bench("ingest")
    layout = bench.installed_layout(source_tree(tmp_path / "old"))
    probe = "import figvault, figvault.pipeline, figvault.ingest as i; print(figvault.WHICH, i.WHICH, "
    probe += "figvault.pipeline.WHICH, sep='|')"
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(layout)!r}); {probe}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == "old figvault|old ingest|old pipeline"
    # Without the layout, the old tree first on sys.path gives the old top and the checkout's sub-packages.
    mixed = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'old')!r}); {probe}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert mixed.returncode != 0 or mixed.stdout.strip() != "old figvault|old ingest|old pipeline"


def test_an_installed_layout_is_used_as_it_is(tmp_path: Path) -> None:
    bench = load_bench("ingest")
    (tmp_path / "figvault" / "pipeline").mkdir(parents=True)
    assert bench.installed_layout(tmp_path) == tmp_path
