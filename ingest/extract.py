"""Entry point of extraction: find input files, sniff their type, hand them to the right extractor."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import multiprocessing
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO

from figvault.cores import usable_cores
from figvault.errors import ExtractionError, UnsafeFileError, UnsupportedFileError, typed_line
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction

PDF_MIME = "application/pdf"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
SUFFIXES = {".pdf", ".pptx"}


MAX_ZIP_DIRECTORY_BYTES = 4 * 2**20
"""The most a zip's central directory (its list of parts) may take for ``sniff_mime`` to list it: the
service sniffs uploads in its own process, and a crafted directory of millions of entries (all pointing at
one part) took 15 s and 400 MB there per 48 MB upload. A deck of 2,000 slides lists well under 1 MiB."""

NOT_REGULAR = "refused: not a regular file"
LINK_LOOP = "refused: a symbolic link loop (the link leads back to itself)"
LINK_TO_NOTHING = "refused: a symbolic link to a file that is not there"
LEAVES_FOLDER = (
    "refused: a symbolic link to a file outside the folder being ingested; name that file itself to ingest it"
)
NOT_UTF8_NAME = (
    "refused: its name is not valid UTF-8 (written in another encoding, e.g. Latin-1); rename it, e.g."
    " `convmv -f latin1 -t utf-8 --notest FILE`, and ingest again"
)


PATH_TOO_LONG = "refused: its path is longer than the system allows; move it into a shorter folder path"
FOLDER_PATH_TOO_LONG = (
    "refused: a folder whose path is longer than the system allows: the files in it are not read; move them"
    " into a shorter folder path"
)


def folder_entries(folder: Path, unlisted: list[tuple[Path, str]] | None = None) -> Iterator[Path]:
    """Every entry under ``folder`` (files, folders, links; a link to a folder is not followed), as
    ``rglob("*")`` gives them, but a subfolder that cannot be listed is passed over (added to ``unlisted``
    with the reason, unless the user may not read it) instead of ending the listing: a folder path past
    the system's length limit raised ENAMETOOLONG out of ``rglob`` and ended the whole ingest with a
    traceback (a hostile-file audit). Walked with a stack, not recursion: Python 3.11's ``rglob`` and
    ``os.walk`` recurse once a level, and a folder 1,100 levels deep (short names, well under the path
    limit) ended the listing with RecursionError (a review)."""
    stack = [folder]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as listing:
                entries = list(listing)
        except OSError as exc:
            # A folder the user may not read is passed over without a word, as rglob did (a volume's
            # lost+found, another user's .git/objects): what they cannot read is not theirs to ingest.
            if unlisted is not None and top != folder and not isinstance(exc, PermissionError):
                unlisted.append((top, _unlisted_reason(exc)))
            continue
        for entry in entries:
            path = top / entry.name
            yield path
            with contextlib.suppress(OSError):  # not a folder to the system: nothing below it is read
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)


def _unlisted_reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return FOLDER_PATH_TOO_LONG
    why = exc.strerror or type(exc).__name__
    return f"refused: a folder that cannot be listed ({why}): the files in it are not read"


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a path the system cannot look at (too long: ``refusal`` says why)."""
    try:
        return path.is_file()
    except OSError:
        return False


def name_not_utf8(path: Path) -> bool:
    """Whether ``path``'s name has bytes that are not UTF-8 (Python holds them as lone surrogates, which no
    database, store or JSON answer can carry: such a file ended the whole ingest with UnicodeEncodeError)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable_path(path: Path) -> str:
    """``path`` as text that can be shown and stored: bytes that are not UTF-8 shown as U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def no_documents_reason(paths: Sequence[Path]) -> str | None:
    """Why ``paths`` give nothing to read (they exist, but hold no PDF or PPTX file), or None: a folder
    of .docx files would otherwise be an ingest that succeeds with nothing in it."""
    if any(not p.exists() for p in paths) or next(iter(iter_input_files(paths)), None) is not None:
        return None
    where = ", ".join(str(p) for p in paths)
    refused = refused_files(paths)  # a folder of only links out of it, or pipes: said why, not "none"
    if refused:
        named = "; ".join(f"{printable_path(path)}: {reason}" for path, reason in refused[:3])
        more = f"; and {len(refused) - 3} more" if len(refused) > 3 else ""
        return f"no PDF or PPTX file to read in {where}: {named}{more}"
    return f"no PDF or PPTX file in {where} (folders are searched recursively for .pdf and .pptx)"


def iter_input_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Regular files named directly are yielded whatever their name (their bytes decide); folders give
    their .pdf/.pptx files. Paths that do not exist are left out (callers report them), and so is what
    ``refused_files`` refuses (a pipe would block its reader; a link may lead anywhere)."""
    return (path for path, _ in iter_listed(paths))


def iter_listed(paths: Iterable[Path]) -> Iterator[tuple[Path, Path | None]]:
    """``iter_input_files``' files, each with the folder it was found in (None: named directly): one
    listing gives both what is read and where it must be (``file_bounds``; two listings let a file gone
    from the second be read from anywhere, a review, 2026-12-06)."""
    seen: set[Path] = set()
    for path, folder in _candidates(paths):
        if _is_file(path) and refusal(path, folder) is None:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path, folder


def skipped_files(paths: Iterable[Path]) -> list[Path]:
    """The files inside the given folders that ``iter_input_files`` leaves out for their name (a .docx, a
    legacy .ppt, a .txt): what a folder ingest did not read. Hidden files and folders (``.DS_Store``,
    ``.git``) are not listed."""
    return sorted(
        p
        for raw in paths
        if Path(raw).is_dir()
        for p in folder_entries(Path(raw))
        if _is_file(p)
        and p.suffix.lower() not in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(raw).parts)
    )


def refused_files(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """What ``iter_input_files`` leaves out for what it is rather than its name, with the reason: a file
    named directly that is not a regular file, and a .pdf/.pptx name inside a folder that is not a regular
    file, a symbolic link loop, a link to nothing, or a link out of that folder. Never opened."""
    out: list[tuple[Path, str]] = []
    unlisted: list[tuple[Path, str]] = []  # folders that could not be listed, and why
    for path, folder in _candidates(paths, unlisted):
        reason = refusal(path, folder)
        if reason is not None and (folder is not None or path.exists()):  # else it is missing
            out.append((path, reason))
    # A folder named x.pdf that cannot be listed is refused once, as a folder.
    return list({**dict(out), **dict(unlisted)}.items())


def _candidates(
    paths: Iterable[Path], unlisted: list[tuple[Path, str]] | None = None
) -> Iterator[tuple[Path, Path | None]]:
    """Each path named directly (with None), and each .pdf/.pptx name inside a named folder (with that
    folder). A link to a folder inside a folder is not followed (``folder_entries``, which adds a subfolder
    it cannot list to ``unlisted``)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            entries = folder_entries(path, unlisted)
            yield from ((p, path) for p in sorted(entries) if p.suffix.lower() in SUFFIXES)
        else:
            yield path, None


def refusal(path: Path, folder: Path | None = None) -> str | None:
    """Why ``path`` is not read, from what the file system says of it (never opened: opening a FIFO waits
    for a writer), or None (a regular file to read, a folder, a path that is not there). ``folder``: the
    folder it was found in, which a link must not lead out of (an uploaded or shared folder holding
    ``x.pdf -> /home/me/.ssh/id_rsa`` must not ingest that file: name it directly to ingest it)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return LINK_LOOP
        if exc.errno == errno.ENAMETOOLONG:
            return PATH_TOO_LONG
        return LINK_TO_NOTHING if path.is_symlink() else None
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        return f"{NOT_REGULAR}: {_kind(mode)}, never opened"
    if folder is not None and not path.resolve().is_relative_to(folder.resolve()):
        return LEAVES_FOLDER
    return None


Bounds = tuple[tuple[Path, ...], ...]
"""Where a listed file must be when it is opened: inside one folder of each group (resolved when listed): the
folder it was found in, and for a server-folder job one of the allowed folders. Empty: named directly, and
followed wherever it leads."""
LEFT_ITS_FOLDER = (
    "the file is not inside the folder being ingested any more (a link or a folder swapped since it was"
    " listed): not read"
)

CHANGED_SINCE_READ = "the file changed while it was read (other bytes than those hashed): run this one again"
"""A file whose worker read other bytes than were hashed where it was listed (written meanwhile, or a link
swapped in): ingest and ``extract`` fail it."""


def file_bounds(
    listed: Iterable[tuple[Path, Path | None]], roots: Sequence[Path] | None = None
) -> dict[str, Bounds]:
    """The files ``iter_listed`` listed, each with where it must be when opened (``open_within``). The
    listing's checks look at a path and the reads open it again later: a link or a folder swapped in between
    (a shared drop folder's writer) was read and indexed, a file from outside the folder (2026-12-06, the
    thirteenth hostile pass). So every read checks the file it opened, not the path."""
    bounds: dict[str, Bounds] = {}
    for path, folder in listed:
        groups = [(folder.resolve(),)] if folder is not None else []
        if roots is not None:
            groups.append(tuple(roots))
        bounds[str(path)] = tuple(groups)
    return bounds


def open_within(path: Path, bounds: Bounds) -> BinaryIO:
    """``path`` opened as ``open_regular`` does, when the file opened is inside ``bounds`` (its real path,
    read from the open descriptor: every link of the path as followed by the open itself, not before it);
    OSError ``LEFT_ITS_FOLDER`` otherwise."""
    fh = open_regular(path)
    if bounds:
        real = _opened_path(fh.fileno(), path)
        inside = real is not None and all(
            any(real == top or real.is_relative_to(top) for top in group) for group in bounds
        )
        if not inside:
            fh.close()
            raise OSError(errno.EXDEV, LEFT_ITS_FOLDER)
    return fh


def _opened_path(fd: int, path: Path) -> Path | None:
    """Where the open file ``fd`` is: Linux's ``/proc/self/fd``; without it, the path resolved just after
    the open when that names the same file (device and inode), else None (unknown: not read)."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        real = path.resolve()
        opened, found = os.fstat(fd), _stat_or_none(real)
        same = found is not None and (found.st_dev, found.st_ino) == (opened.st_dev, opened.st_ino)
        return real if same else None


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, without blocking if it has become a pipe since it was listed;
    UnsupportedFileError when it is not a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsupportedFileError("not a regular file (a pipe, socket or device)")
    return os.fdopen(fd, "rb")


def sniff_mime(data: bytes) -> str:
    """The document type from its bytes, never from its name."""
    if not data:
        raise UnsupportedFileError("empty file")
    # A zip's signature at byte 0 decides before the PDF header is looked for: a zip whose first member is
    # a stored PDF (or a deck whose first part is) holds "%PDF-" within its first KiB too, and MuPDF read
    # the member's objects out of the archive as if they were the file (twelfth hostile pass).
    if data[:4] == b"PK\x03\x04":
        names = _zip_names(io.BytesIO(data))
        if "[Content_Types].xml" in names and any(n.startswith("ppt/") for n in names):
            return PPTX_MIME
        if any(n.startswith("word/") for n in names):
            raise UnsupportedFileError("a Word document (.docx), not PDF or PPTX")
        if any(n.startswith("xl/") for n in names):
            raise UnsupportedFileError("an Excel workbook (.xlsx), not PDF or PPTX")
        raise UnsupportedFileError("a zip archive, not PDF or PPTX")
    # A web page saved under a document's name (a download that got a sign-in or error page) is said as
    # such, also when its text mentions "%PDF-" (a page about PDFs): a PDF's header may follow some bytes,
    # never markup.
    if _is_markup(data):
        raise UnsupportedFileError(MARKUP_REFUSED)
    # PDF readers accept a header within the first KiB; so do we.
    if b"%PDF-" in data[:1024]:
        return PDF_MIME
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        # Office saves a deck with a password as a compound file too, its zip encrypted in one stream.
        if ENCRYPTED_PACKAGE in data:
            raise UnsupportedFileError(ENCRYPTED_OFFICE)
        raise UnsupportedFileError("a legacy Office file (.ppt/.doc): save it as PPTX or PDF")
    raise UnsupportedFileError("not a PDF or PPTX file (unrecognised content)")


ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
"""The stream name (UTF-16 in the compound file's directory) of a password- or rights-protected
PPTX/DOCX/XLSX."""
ENCRYPTED_OFFICE = (
    "an encrypted Office file (a PPTX, DOCX or XLSX protected by a password or rights management): save it"
    " unprotected and try again"
)

MARKUP_REFUSED = (
    "an HTML or XML page, not PDF or PPTX (a web page saved under this name? e.g. a download that got a"
    " sign-in or error page)"
)
MARKUP_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body", b"<svg")
"""How an HTML, XHTML, XML or SVG file starts (lowercased, after a byte-order mark and blank space)."""


def _is_markup(data: bytes) -> bool:
    """Whether ``data`` starts as a markup document, before any ``%PDF-`` header it holds."""
    head = data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith(MARKUP_STARTS) and not data.startswith(b"%PDF-")


def _zip_names(container: io.BytesIO) -> set[str]:
    """The part names of a zip, listed only when its central directory is at most
    ``MAX_ZIP_DIRECTORY_BYTES`` (read from the end record, as ``zipfile`` reads it, zip64 included)."""
    try:
        # Private on purpose: zipfile has no public way to read the end record, and ZipFile() lists the
        # whole directory at once. _EndRecData is what ZipFile itself calls first (zip64 included); were it
        # renamed, tests/ingest/test_hostile_zip.py fails (AttributeError, not UnsupportedFileError).
        end = zipfile._EndRecData(container)  # type: ignore[attr-defined]
        if end is not None and end[zipfile._ECD_SIZE] > MAX_ZIP_DIRECTORY_BYTES:  # type: ignore[attr-defined]
            raise UnsupportedFileError(
                f"a zip container whose list of parts takes over {MAX_ZIP_DIRECTORY_BYTES // 2**20} MiB"
            )
        with zipfile.ZipFile(container) as zf:
            return set(zf.namelist())
    except zipfile.BadZipFile as exc:
        raise UnsupportedFileError(f"corrupt zip container: {exc}") from None


def read_document(path: Path, settings: ExtractSettings) -> bytes:
    """The file's bytes, at most ``extract.max_file_mb``. The size is that of the file opened, and the read
    stops one byte past the limit: a file that grows while it is read (a copy still arriving, a log being
    written) is refused, not read into memory whole."""
    limit = settings.max_file_mb * 1024 * 1024
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            mib = settings.max_file_mb
            raise UnsafeFileError(f"file is {size / 2**20:.0f} MiB, over the {mib} MiB limit")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFileError(f"file grew past the {settings.max_file_mb} MiB limit while it was read")
    return data


def extract_document(
    path: Path, settings: ExtractSettings, data: bytes | None = None, page_texts: dict[int, str] | None = None
) -> DocumentExtraction:
    """Extract the figure units of one file. Raises ExtractionError (one-line reason) for bad input.

    ``page_texts``, when given, is filled with a PDF's page texts (page_text.page_texts), read from the text
    pages extraction reads anyway; it stays empty for a deck.
    """
    path = Path(path)
    try:
        if data is None:
            data = read_document(path, settings)
        mime = sniff_mime(data)
        sha = hashlib.sha256(data).hexdigest()
        if mime == PDF_MIME:
            from figvault.ingest.pdf import extract_pdf_units

            return extract_pdf_units(path, data, sha, settings, page_texts)
        from figvault.ingest.pptx import extract_pptx_units

        return extract_pptx_units(path, data, sha, settings)
    except ExtractionError:
        raise
    except OSError as exc:
        raise ExtractionError(f"cannot read file: {exc.strerror or exc}") from exc
    except Exception as exc:  # a parser bug on hostile input must fail this file alone, with a reason
        raise ExtractionError(typed_line(exc)) from exc


def _extract_one(path: Path, settings: ExtractSettings) -> tuple[Path, DocumentExtraction | str]:
    try:
        return path, extract_document(path, settings)
    except ExtractionError as exc:
        return path, str(exc)


def extract_batch(
    paths: Iterable[Path], settings: ExtractSettings
) -> Iterator[tuple[Path, DocumentExtraction | str]]:
    """Extract many files, in parallel processes; yields (path, extraction or one-line failure reason).

    Results come back in input order so that output files are deterministic.
    """
    files = list(paths)
    workers = settings.workers or usable_cores()
    workers = max(1, min(workers, len(files)))
    if workers == 1:
        for p in files:
            yield _extract_one(p, settings)
        return
    ctx = multiprocessing.get_context("spawn")  # fork after torch/milvus threads start is unsafe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_extract_one, p, settings) for p in files]
        for path, fut in zip(files, futures, strict=True):
            try:
                yield fut.result()
            except Exception as exc:  # a worker killed by the OS (memory) fails this file alone
                yield path, f"extractor process failed: {typed_line(exc)}"
