"""docs/architecture.md's module list is the tree's: scripts/module_table.py keeps it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "module_table.py"


def run(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *options], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_module_list_of_the_architecture_document_is_current() -> None:
    done = run("--check")
    assert done.returncode == 0, done.stderr


def test_every_product_module_is_listed_with_its_lines_and_docstring() -> None:
    listed = {line.split()[0]: line for line in run().stdout.splitlines()[1:-1]}
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "carnet").rglob("*.py")
               if "simulator" not in p.parts}
    assert set(listed) - {"carnet/simulator/"} == modules
    outcomes = listed["carnet/runtime/outcomes.py"].split()
    lines = len((ROOT / "carnet/runtime/outcomes.py").read_text(encoding="utf-8").splitlines())
    assert int(outcomes[1]) == lines
    assert " ".join(outcomes[2:]).startswith("Following a command whose generation reports")
    assert not any(name.startswith("carnet/simulator/") and name != "carnet/simulator/"
                   for name in listed)


def test_a_stale_list_is_found_and_rewritten(tmp_path: Path) -> None:
    doc = tmp_path / "architecture.md"
    doc.write_text("# A\n<!-- modules:start -->\ncarnet/gone.py 1 Gone.\n<!-- modules:end -->\n",
                   encoding="utf-8")
    stale = run("--check", "--doc", str(doc))
    assert stale.returncode == 1
    assert "run python scripts/module_table.py --write" in stale.stderr
    assert run("--write", "--doc", str(doc)).returncode == 0
    text = doc.read_text(encoding="utf-8")
    assert "carnet/gone.py" not in text and "carnet/vendor/myvw_app/client.py" in text
    assert run("--check", "--doc", str(doc)).returncode == 0
    doc.write_text("# no markers\n", encoding="utf-8")
    missing = run("--check", "--doc", str(doc))
    assert missing.returncode == 1 and "no <!-- modules:start -->" in missing.stderr
