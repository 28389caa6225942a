"""The ownership rule and the choice of document, without models or a store: ``figvault.access.may_replace``
and ``pipeline/doc_identity.py`` over a registry of same-named documents in several groups and tenants."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.access import Principal, Role, groups_after_replace, local_operator, may_replace
from figvault.pipeline.doc_identity import (
    AmbiguousDocumentError,
    DocumentNameError,
    DocumentNotYoursError,
    check_document_name,
    new_doc_id,
    resolve_target,
)
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry, connect
from figvault.settings import load_settings


def person(role: Role, *groups: str, tenant: str = "t") -> Principal:
    return Principal(user=f"{role}-{'-'.join(groups)}", tenant=tenant, groups=list(groups), roles=[role])


@pytest.mark.parametrize(
    ("caller", "doc_tenant", "doc_groups", "allowed"),
    [
        (person(Role.EDITOR, "a"), "t", ["a"], True),
        (person(Role.EDITOR, "a", "b"), "t", ["a", "b"], True),
        (person(Role.EDITOR, "a"), "t", ["a", "b"], True),  # sees it; b stays (groups_after_replace)
        (person(Role.EDITOR, "a"), "t", ["b"], False),  # cannot see it
        (person(Role.EDITOR, "a"), "u", ["a"], False),  # another tenant
        (person(Role.EDITOR, "a"), "t", [], False),  # visible to no one
        (person(Role.READER, "a"), "t", ["a"], False),  # may not ingest
        (person(Role.ADMIN, "a"), "t", ["a", "b"], True),  # admins regroup what they see anyway
        (person(Role.ADMIN, "a"), "t", ["b"], False),
        (local_operator("t"), "t", ["b"], True),
        (local_operator("t"), "t", [], True),
        (local_operator("t"), "u", ["b"], False),
    ],
)
def test_who_may_replace_a_document(
    caller: Principal, doc_tenant: str, doc_groups: list[str], allowed: bool
) -> None:
    assert may_replace(caller, doc_tenant, doc_groups) is allowed


@pytest.mark.parametrize(
    ("caller", "given", "current", "after"),
    [
        (person(Role.EDITOR, "a", "c"), ["a"], ["a", "b"], ["a", "b"]),  # b is not the editor's to drop
        (person(Role.EDITOR, "a", "c"), ["c"], ["a", "b"], ["b", "c"]),  # its own part of the access
        (person(Role.EDITOR, "a"), ["a"], ["a"], ["a"]),
        (person(Role.ADMIN, "a"), ["a"], ["a", "b"], ["a"]),  # admins regroup anyway
        (local_operator("t"), ["a"], ["a", "b"], ["a"]),
    ],
)
def test_what_a_replacement_may_change_of_a_documents_groups(
    caller: Principal, given: list[str], current: list[str], after: list[str]
) -> None:
    assert groups_after_replace(caller, given, current) == after


@pytest.mark.parametrize("name", ["", " ", ".", "..", "a/b", "/", "a\\b", "a\x00b", "a\nb", "x" * 256])
def test_names_that_cannot_name_a_document(name: str) -> None:
    with pytest.raises(DocumentNameError):
        check_document_name(name)


def test_ordinary_names_are_kept_as_they_are() -> None:
    for name in ("report.pdf", "Q3 review (final).pptx", "отчёт.pdf", ".hidden.pdf"):
        assert check_document_name(name) == name


def test_new_ids_are_random_or_derived_from_their_seed() -> None:
    assert new_doc_id() != new_doc_id()
    assert new_doc_id("job\0a.pdf") == new_doc_id("job\0a.pdf") != new_doc_id("job\0b.pdf")
    assert all(i.startswith("doc_") and len(i) == 28 for i in (new_doc_id(), new_doc_id("s")))


@pytest.fixture
def registry(tmp_path: Path) -> DocumentRegistry:
    settings = load_settings("offline", data_dir=tmp_path)
    registry = DocumentRegistry(connect(settings))
    for doc_id, tenant, groups in (
        ("doc_a", "t", ["a"]),
        ("doc_b", "t", ["b"]),
        ("doc_u", "u", ["a"]),
        ("report.pdf", "t", ["c"]),  # indexed before migration 0004: its name is its id
    ):
        registry.put(
            DocumentRecord(
                doc_id=doc_id, tenant=tenant, name="report.pdf", state=DocState.INDEXED, groups=groups
            )
        )
    return registry


def test_a_name_goes_to_the_one_document_the_caller_may_edit_else_a_new_one(
    registry: DocumentRegistry,
) -> None:
    target = resolve_target(registry, person(Role.EDITOR, "a"), "report.pdf", fresh_id="doc_new")
    assert target.doc_id == "doc_a" and target.known is not None and target.known.groups == ["a"]
    for caller in (person(Role.EDITOR, "d"), person(Role.READER, "a"), person(Role.EDITOR, "a", tenant="v")):
        assert resolve_target(registry, caller, "report.pdf", fresh_id="doc_new").doc_id == "doc_new"
    assert resolve_target(registry, person(Role.EDITOR, "a"), "other.pdf", fresh_id="doc_new").known is None


def test_several_editable_documents_of_a_name_are_refused_naming_only_those(
    registry: DocumentRegistry,
) -> None:
    with pytest.raises(AmbiguousDocumentError) as refused:
        resolve_target(registry, person(Role.EDITOR, "a", "b"), "report.pdf", fresh_id="doc_new")
    assert "doc_a" in str(refused.value) and "doc_b" in str(refused.value)
    assert "report.pdf (" not in str(refused.value) and "doc_u" not in str(refused.value)
    # The operator reaches all of its tenant's; a document whose id is the name (indexed before migration
    # 0004) wins over the others that carry it as their name.
    operator = local_operator("t")
    assert resolve_target(registry, operator, "report.pdf", fresh_id="doc_new").doc_id == "report.pdf"


def test_an_explicit_id_must_be_replaceable(registry: DocumentRegistry) -> None:
    editor = person(Role.EDITOR, "a")
    assert resolve_target(registry, editor, "f.pdf", fresh_id="n", doc_id="doc_a").doc_id == "doc_a"
    for doc_id in ("doc_b", "doc_u", "doc_missing"):
        with pytest.raises(DocumentNotYoursError):
            resolve_target(registry, editor, "f.pdf", fresh_id="n", doc_id=doc_id, create_named=False)
    # The command line names a new document by the id it chooses; an existing id it may not replace: refused.
    assert (
        resolve_target(registry, editor, "f.pdf", fresh_id="n", doc_id="doc_missing").doc_id == "doc_missing"
    )
    with pytest.raises(DocumentNotYoursError):
        resolve_target(registry, editor, "f.pdf", fresh_id="n", doc_id="doc_b")
    operator = local_operator("t")
    assert (
        resolve_target(registry, operator, "f.pdf", fresh_id="n", doc_id="report.pdf").doc_id == "report.pdf"
    )


def test_a_resumed_job_finds_the_document_it_made(registry: DocumentRegistry) -> None:
    registry.put(
        DocumentRecord(doc_id="doc_mine", tenant="t", name="new.pdf", state=DocState.PENDING, groups=["z"])
    )
    # An admin uploading into a group it is not in cannot see the document, but its own job still finds it.
    target = resolve_target(registry, person(Role.ADMIN, "a"), "new.pdf", fresh_id="doc_mine")
    assert target.doc_id == "doc_mine" and target.known is not None


def test_a_file_named_like_a_documents_id_is_a_new_document_not_that_one(registry: DocumentRegistry) -> None:
    # A trust audit, 2026-12-07: an upload named exactly like a shared document's server-chosen id replaced
    # that document (renamed it, and its groups became the uploader's). A file's name selects by name; an
    # id is given as ``doc_id``.
    shared = new_doc_id("shared")
    registry.put(
        DocumentRecord(
            doc_id=shared, tenant="t", name="shared.pdf", state=DocState.INDEXED, groups=["a", "b"]
        )
    )
    editor = person(Role.EDITOR, "a")
    target = resolve_target(registry, editor, shared, fresh_id="doc_new")
    assert target.doc_id == "doc_new" and target.known is None
    assert resolve_target(registry, editor, "f.pdf", fresh_id="n", doc_id=shared).doc_id == shared
    # A document from before server-chosen ids is still found by its id, which is its file name.
    assert (
        resolve_target(registry, local_operator("t"), "report.pdf", fresh_id="doc_new").doc_id == "report.pdf"
    )
