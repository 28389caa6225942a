"""What a folder may hold under a .pdf or .pptx name besides a document: a named pipe (opening one waits for
a writer), a socket, a device, a symbolic link that loops, leads nowhere or leads out of the folder, a
folder. Before: a pipe, socket or device was only a job error (``figvault jobs show`` named it; the summary
said 0 failed and the command exited 0), a looping or broken link was left out without a word, and a link
out of the folder was followed and its file ingested (``x.pdf -> ~/.ssh/id_rsa`` in a shared folder would
be read). Now each is that file's failure, named with its reason, never opened; the folder's other files
are ingested and the exit code says some failed. A folder named ``x.pdf`` is a folder: its files are read."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

from tests.generated_docs import figure_pdf
from tests.helpers.cli import run


def test_each_odd_entry_of_a_folder_fails_alone_with_its_reason(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "folder.pdf").mkdir(parents=True)
    figure_pdf(docs / "plan.pdf", seed=3)
    figure_pdf(docs / "folder.pdf" / "inner.pdf", seed=4)
    secret = figure_pdf(tmp_path / "elsewhere.pdf", seed=5)  # outside the folder being ingested
    os.mkfifo(docs / "pipe.pdf")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(docs / "socket.pptx"))
    (docs / "device.pdf").symlink_to("/dev/zero")  # a device: endless bytes if it were read
    (docs / "loop.pdf").symlink_to("loop.pdf")
    (docs / "gone.pdf").symlink_to("nothing-here.pdf")
    (docs / "out.pdf").symlink_to(secret)
    outcome: list[tuple[int, str, str]] = []
    ingest = threading.Thread(
        target=lambda: outcome.append(run(tmp_path / "data", "ingest", str(docs), "--groups", "eng", "-q")),
        daemon=True,  # a pipe opened for reading would hold it forever
    )
    ingest.start()
    ingest.join(600)
    listener.close()
    assert outcome, "the ingest did not end: an entry was opened and blocked it"
    code, out, err = outcome[0]

    assert code == 1, err
    assert "2 new, 0 replaced, 0 unchanged, 6 failed" in out, out
    expected = {
        "pipe.pdf": "refused: not a regular file: a named pipe (FIFO), never opened",
        "socket.pptx": "refused: not a regular file: a socket, never opened",
        "device.pdf": "refused: not a regular file: a device, never opened",
        "loop.pdf": "refused: a symbolic link loop",
        "gone.pdf": "refused: a symbolic link to a file that is not there",
        "out.pdf": "refused: a symbolic link to a file outside the folder being ingested",
    }
    for name, reason in expected.items():
        assert f"{name}: {reason}" in err, (name, err)
    code, out, _ = run(tmp_path / "data", "documents", "list", "--json")
    assert code == 0 and sorted(d["name"] for d in json.loads(out)) == ["inner.pdf", "plan.pdf"]


def test_a_link_named_directly_is_read_a_pipe_named_directly_fails_alone(tmp_path: Path) -> None:
    """Naming a file is choosing it: a link given on the command line is followed wherever it leads. A pipe
    named directly is refused as in a folder."""
    link = tmp_path / "docs" / "link.pdf"
    link.parent.mkdir()
    link.symlink_to(figure_pdf(tmp_path / "elsewhere.pdf", seed=6))
    os.mkfifo(tmp_path / "pipe.pdf")

    code, out, err = run(tmp_path / "data", "ingest", str(link), str(tmp_path / "pipe.pdf"), "-q")

    assert code == 1, err
    assert "1 new, 0 replaced, 0 unchanged, 1 failed" in out, out
    assert "pipe.pdf: refused: not a regular file: a named pipe (FIFO), never opened" in err, err
