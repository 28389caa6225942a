"""Dependencies point one way (DESIGN.md): service -> pipeline -> retrieval -> encoders, pipeline -> ingest.

Every ``figvault.*`` import in a part's source (top-level or inside a function) must name a part it may
depend on; the core package may import no part at all, except its CLI commands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = "figvault"
ALLOWED: dict[str, set[str]] = {
    "ingest": {CORE},
    "encoders": {CORE},
    "retrieval": {CORE, "encoders"},
    "pipeline": {CORE, "ingest", "encoders", "retrieval"},
    "service": {CORE, "ingest", "encoders", "retrieval", "pipeline"},
    CORE: {CORE},
}
PARTS = {"ingest", "encoders", "retrieval", "pipeline", "service", "configs"}
COMMAND_PARTS = {CORE, "ingest", "encoders", "retrieval", "pipeline", "configs"}
COMMANDS_MAY_USE_SERVICE = {"serve.py"}
"""The CLI starts the HTTP service; everything else (users, the audit trail, jobs) goes through the pipeline,
which owns the registry's tables (DESIGN.md: the CLI reaches the pipeline without the HTTP package)."""


def part_of(module: str) -> str:
    names = module.split(".")
    if names[0] != CORE:
        return ""
    return names[1] if len(names) > 1 and names[1] in PARTS else CORE


def imported_parts(path: Path) -> set[str]:
    parts: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        parts |= {part_of(m) for m in modules} - {""}
    return parts


def sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["ingest", "encoders", "retrieval", "pipeline", "service", CORE])
def test_imports_point_one_way(folder: str) -> None:
    wrong: list[str] = []
    for path in sources(folder):
        in_commands = folder == CORE and path.parent.name == "commands"
        allowed = ALLOWED[folder] | {folder}
        if in_commands:
            allowed = COMMAND_PARTS | ({"service"} if path.name in COMMANDS_MAY_USE_SERVICE else set())
        for part in imported_parts(path) - allowed - {"configs"}:
            wrong.append(f"{path.relative_to(REPO)} imports figvault.{part}")
    assert not wrong, "\n".join(wrong)


def test_service_holds_only_the_http_layer() -> None:
    """Orchestration modules live in pipeline/, not beside the routes."""
    service = {p.stem for p in (REPO / "service").glob("*.py")}
    moved = {"ingest_pipeline", "ingest_job", "jobs", "reencode", "registry", "sources", "store_lock"}
    left = service & (moved | REGISTRY_RECORDS)
    assert not left, f"orchestration or registry tables left in service/: {sorted(left)}"


REGISTRY_RECORDS = {"users", "user_records", "audit", "apikeys", "credentials"}
"""The users and audit tables, the API-key format and what queued work may still do with its caller's
credential: registry records that the CLI and the jobs need without HTTP, so the pipeline's."""


def test_registry_records_live_in_the_pipeline() -> None:
    core = {p.stem for p in (REPO / CORE).glob("*.py")}
    pipeline = {p.stem for p in (REPO / "pipeline").glob("*.py")}
    assert not core & REGISTRY_RECORDS, f"registry records in the core: {sorted(core & REGISTRY_RECORDS)}"
    assert pipeline >= REGISTRY_RECORDS


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from figvault.service.app import create_app\n", encoding="utf-8")
    assert imported_parts(bad) == {"service"}
