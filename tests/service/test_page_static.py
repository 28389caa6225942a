"""The search page's static files: served from the package, complete, and self-contained (no CDN)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from figvault.service.api.routes import page
from figvault.units import FigureKind

STATIC = resources.files("figvault.service").joinpath("static")
MODULE_IMPORT = re.compile(r"""^import\s[^;]*?from\s+"\./([\w.-]+)";""", re.MULTILINE)
FULL_URL = re.compile(r"https?://[^\s\"')]+")
PROTOCOL_RELATIVE = re.compile(r"""(?:src=|href=|url\()["']?//""")
# The one absolute URL the page may contain: the SVG namespace, an identifier that is never fetched.
ALLOWED_URLS = {"http://www.w3.org/2000/svg"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from figvault.settings import load_settings

    app = FastAPI()
    app.state.settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("page") / "data")
    app.include_router(page.router)
    return TestClient(app)


def static_text(name: str) -> str:
    return STATIC.joinpath(name).read_text("utf-8")


def run_module(script: str, module: str, *args: str) -> str:
    """Run ``script`` in node with the static ``module``'s file URL and ``args`` as arguments; its stdout."""
    with resources.as_file(STATIC.joinpath(module)) as path:
        done = subprocess.run(
            ["node", "--input-type=module", "-e", script, path.as_uri(), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_index_served_with_strict_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="static/app.js">' in response.text  # relative: any path prefix
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"


def test_every_referenced_file_is_served(client: TestClient) -> None:
    index = static_text("index.html")
    referenced = set(re.findall(r'(?:src|href)="static/([\w.-]+)"', index))
    assert {"app.js", "app.css"} <= referenced
    # Follow the module graph from app.js: every import must be a served file.
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert "javascript" in response.headers["content-type"], name
        pending.extend(MODULE_IMPORT.findall(response.text))
    assert {"api.js", "search.js", "viewer.js", "upload.js", "admin.js", "format.js"} <= seen
    for name in referenced:
        assert client.get(f"/static/{name}").status_code == 200, name


def test_nothing_is_fetched_from_elsewhere() -> None:
    for entry in STATIC.iterdir():
        text = entry.read_text("utf-8")
        urls = set(FULL_URL.findall(text))
        assert urls <= ALLOWED_URLS, (entry.name, urls - ALLOWED_URLS)
        assert not PROTOCOL_RELATIVE.search(text), entry.name
        assert "@import" not in text and "@font-face" not in text, entry.name


def test_paths_outside_static_are_not_served(client: TestClient) -> None:
    for path in ("/static/../sources.py", "/static/%2e%2e/sources.py", "/static/missing.js"):
        assert client.get(path).status_code == 404, path


def test_kind_filter_matches_figure_kinds() -> None:
    match = re.search(r"export const FIGURE_KINDS = \[([^\]]*)\]", static_text("format.js"))
    assert match is not None
    kinds = re.findall(r'"([^"]+)"', match.group(1))
    assert kinds == [str(kind) for kind in FigureKind]


def test_form_controls_have_labels() -> None:
    index = static_text("index.html")
    labelled = set(re.findall(r'<label for="([\w-]+)"', index)) | set(
        re.findall(r'<input[^>]*id="([\w-]+)"[^>]*aria-label=', index)
    )
    controls = set(re.findall(r'<(?:input|select)[^>]*\sid="([\w-]+)"', index))
    assert controls and controls <= labelled, controls - labelled


def test_no_form_is_filled_again_for_the_next_user() -> None:
    """Signing out reloads the page, and a browser that restores forms on a reload (Firefox) filled the
    search and upload forms with the previous user's filters, groups and tags. Every form is
    ``autocomplete="off"``, which browsers also read as "do not restore"."""
    forms = re.findall(r"<form\b[^>]*>", static_text("index.html"))
    assert len(forms) == 3 and all('autocomplete="off"' in form for form in forms), forms


def test_no_form_can_put_a_key_in_a_url() -> None:
    """The sign-in form had no method: pressed before the page's modules ran (a slow link, a module that
    failed to load), the browser submitted it as ``GET /?token=fvk_...``, and the key went into the
    address bar, the history and every access log on the way. Every form posts (the service answers a
    POST to ``/`` with 405 and no log line holds a body); the scripts still take over the submit."""
    from html.parser import HTMLParser

    class Forms(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.forms: dict[str, dict[str, str | None]] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "form":
                self.forms[str(dict(attrs).get("id"))] = dict(attrs)

    parser = Forms()
    parser.feed(static_text("index.html"))
    assert "signin-form" in parser.forms
    for name, attrs in parser.forms.items():
        assert (attrs.get("method") or "get").lower() == "post", name
        assert not attrs.get("action"), name  # posted to the page itself, which takes no POST


SSE_SCRIPT = """
globalThis.sessionStorage = { getItem: () => "tok" };
const body = process.argv[2];
globalThis.fetch = async (url, init) => {
  console.log(JSON.stringify({ url, auth: init.headers.Authorization }));
  return new Response(body, { status: 200 });
};
const { streamEvents } = await import(process.argv[1]);
await streamEvents("/v1/jobs/j1/events", (m) => console.log(JSON.stringify(m)));
"""


ERROR_SCRIPT = """
const { detailText } = await import(process.argv[1]);
console.log(detailText(JSON.parse(process.argv[2])));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_rejected_request_names_the_wrong_fields() -> None:
    """The server's 422 list (what FastAPI answers for a bad filter) as the page shows it: each problem with
    its field, pydantic's "Value error, " prefix dropped (before: "Input should be greater than or equal to
    0" without saying which control)."""
    detail = [
        {"loc": ["body", "filters", "min_width"], "msg": "Input should be greater than or equal to 0"},
        {"loc": ["body", "filters", "pages"], "msg": "Value error, pages: a range goes from a first page"},
    ]
    stdout = run_module(ERROR_SCRIPT, "api.js", json.dumps(detail))
    assert stdout.strip() == (
        "min width: Input should be greater than or equal to 0; pages: a range goes from a first page"
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_job_event_stream_parser() -> None:
    """The page reads job progress (server-sent events) through fetch so the bearer header goes along."""
    # CRLF and LF line ends, a keepalive comment, and one event whose data spans two lines.
    stream = (
        'event: progress\r\ndata: {"id":"j1","state":"running","done":1,"total":3}\r\n\r\n'
        ": keepalive\n\n"
        'event: progress\ndata: {"state":"running",\ndata: "done":3,"total":3}\n\n'
        'event: end\ndata: {"id":"j1","state":"succeeded"}\n\n'
    )
    stdout = run_module(SSE_SCRIPT, "api.js", stream)
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines[0] == {"url": "v1/jobs/j1/events", "auth": "Bearer tok"}  # relative to the page
    assert lines[1:] == [
        {"event": "progress", "data": {"id": "j1", "state": "running", "done": 1, "total": 3}},
        {"event": "progress", "data": {"state": "running", "done": 3, "total": 3}},
        {"event": "end", "data": {"id": "j1", "state": "succeeded"}},
    ]


BUSY_SCRIPT = """
globalThis.sessionStorage = { getItem: () => "tok" };
globalThis.URL.createObjectURL = () => "blob:page";
const answers = JSON.parse(process.argv[2]);
globalThis.fetch = async (url) => {
  const [status, retryAfter] = answers.shift();
  const headers = retryAfter === null ? {} : { "Retry-After": String(retryAfter) };
  console.log(JSON.stringify({ fetched: url }));
  return new Response(status === 200 ? "png" : JSON.stringify({ detail: "busy" }), { status, headers });
};
const api = await import(process.argv[1]);
const slept = [];
const realFetch = api.fetchRetryingBusy;
try {
  const response = await realFetch("/p/1", {}, async (ms) => slept.push(ms));
  console.log(JSON.stringify({ status: response.status, slept }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error) }));
}
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(
    ("answers", "status", "slept"),
    [
        # A render still running (503), then this reader's other render (429): waited as told, then shown.
        ([[503, 2], [429, 5], [200, None]], 200, [2000, 5000]),
        # A long Retry-After is capped; after the last try the busy answer comes back (shown as an error).
        ([[503, 60], [503, 60], [503, 60], [503, 60], [200, None]], 503, [10000, 10000, 10000]),
        # No Retry-After, or an answer that is not "busy": no retry.
        ([[503, None], [200, None]], 503, []),
        ([[404, 5], [200, None]], 404, []),
    ],
)
def test_a_busy_page_image_is_fetched_again(answers: list, status: int, slept: list) -> None:
    """The viewer waits for a page render the server says is busy (429/503 with Retry-After) instead of
    showing "cannot be shown" at once when a reader flips pages quickly."""
    out = [json.loads(line) for line in run_module(BUSY_SCRIPT, "api.js", json.dumps(answers)).splitlines()]
    assert out[-1] == {"status": status, "slept": slept}
    assert len(out) - 1 == len(slept) + 1  # one fetch per try


def test_shape_options_match_the_aspect_classes() -> None:
    from figvault.search_models import Aspect

    options = re.findall(r'<option value="(\w+)">', static_text("index.html"))
    assert [o for o in options if o in {a.value for a in Aspect}] == [a.value for a in Aspect]
    match = re.search(r"export const ASPECTS = \[([^\]]*)\]", static_text("filters.js"))
    assert match is not None and re.findall(r'"([^"]+)"', match.group(1)) == [a.value for a in Aspect]


FILTERS_SCRIPT = """
const { buildFilters, alsoInText, nothingFoundText } = await import(process.argv[1]);
console.log(JSON.stringify(buildFilters({
  docIds: ["d1"], kinds: [], after: "", before: "2024-01-31", tags: " kpi, board deck,,kpi ",
  pages: " 3-7 ", aspect: "square", min_width: "120", max_width: "", min_height: " ", max_height: "900",
})));
console.log(JSON.stringify(buildFilters({ tags: "", pages: "", aspect: "wide" })));
console.log(alsoInText({ also_in: [
  { doc: "a.pptx", page: 5 }, { doc: "b.pdf", page: 2 }, { doc: "c.pdf", page: 1 }, { doc: "d.pdf", page: 9 },
] }));
console.log(JSON.stringify(alsoInText({ also_in: [] })));
console.log(nothingFoundText({}));
console.log(nothingFoundText({ doc_ids: ["d1"], min_width: 120, max_height: 900, tags: ["kpi"] }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_filter_controls_become_the_request_filters() -> None:
    """What the page sends for its filter controls: only the filled ones, with the server's field names,
    and accepted by the server's own model."""
    from figvault.search_models import SearchFilters

    stdout = run_module(FILTERS_SCRIPT, "filters.js")
    full, empty, also, none, nothing, filtered = stdout.splitlines()
    sent = json.loads(full)
    assert sent == {
        "doc_ids": ["d1"],
        "before": "2024-01-31",
        "tags": ["kpi", "board deck"],
        "pages": "3-7",
        "min_width": 120,
        "max_height": 900,
        "aspect": "square",
    }
    parsed = SearchFilters.model_validate(sent)
    assert parsed.pages == (3, 7) and parsed.tags == ["board deck", "kpi"]
    assert json.loads(empty) == {}
    assert also == "Also in: a.pptx slide 5, b.pdf page 2, c.pdf page 1 and 1 more"
    assert json.loads(none) == ""
    # An empty result under filters says so (before: "No figures found." whatever the filters).
    assert nothing == "No figures found."
    assert filtered == (
        "No figures pass the filters (Documents, Size, Tags)."
        " Reset filters to search every document you can see."
    )


EXPONENT_SCRIPT = """
const { buildFilters, wholeNumber } = await import(process.argv[1]);
console.log(JSON.stringify(buildFilters({ min_width: "1e3", max_width: "2.5", min_height: "0x10" })));
console.log(JSON.stringify([wholeNumber("2e2"), wholeNumber(""), wholeNumber("12")]));
console.log(JSON.stringify(buildFilters({ tags: " , ,", pages: "" })));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_size_filters_keep_the_number_typed() -> None:
    """A number input holding "1e3" (valid to the browser: 1000) is sent as 1000; parseInt sent 1, a wrong
    filter with no word. What is not a whole number goes as typed, for the server to refuse by name; so do
    commas alone in the tags box (dropped, they searched unfiltered)."""
    from pydantic import ValidationError

    from figvault.search_models import SearchFilters

    sizes, numbers, commas = run_module(EXPONENT_SCRIPT, "filters.js").splitlines()
    sent = json.loads(sizes)
    assert sent == {"min_width": 1000, "max_width": "2.5", "min_height": "0x10"}
    assert json.loads(numbers) == [200, "", 12]
    with pytest.raises(ValidationError, match="max_width"):
        SearchFilters.model_validate(sent)
    # Commas alone in the tags box are a tag the server refuses by name, not a search of every document.
    assert json.loads(commas) == {"tags": [""]}
    with pytest.raises(ValidationError, match="tag cannot be empty"):
        SearchFilters.model_validate(json.loads(commas))


INVALID_SCRIPT = """
const { invalidFieldText } = await import(process.argv[1]);
console.log(invalidFieldText("min_width", { value: "-3", min: "0", max: "", step: "1", badInput: false }));
console.log(invalidFieldText("top_k", { value: "500", min: "1", max: "200", step: "", badInput: false }));
console.log(invalidFieldText("max_height", { value: "", min: "0", max: "", step: "1", badInput: true }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_number_the_browser_refuses_is_named_with_its_range() -> None:
    """-3 typed into min width: the browser blocks the submit (the input's min) and the page said nothing,
    the previous search's status stayed over the old results. The status line now names the field (as the
    server's 422 does) and its allowed range; search.js shows it from the form's "invalid" event."""
    stdout = run_module(INVALID_SCRIPT, "filters.js")
    negative, too_many, not_a_number = stdout.splitlines()
    assert negative == "min width: must be a whole number, 0 or more (not -3)."
    assert too_many == "top k: must be a whole number from 1 to 200 (not 500)."
    assert not_a_number == "max height: must be a whole number, 0 or more (what is typed is not a number)."
    search = static_text("search.js")
    assert 'addEventListener("invalid"' in search and "invalidFieldText(" in search


NO_ACCESS_SCRIPT = """
const { noAccessText } = await import(process.argv[1]);
console.log(noAccessText(["hr"]));
console.log(noAccessText(["ops"], { admin: true, tenantDocuments: 0 }));
console.log(noAccessText([], { admin: true, tenantDocuments: 2 }));
console.log(noAccessText(["ops"], { admin: true }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_caller_who_sees_nothing_is_told_what_to_do() -> None:
    """A reader asks an admin; an admin (before: told to ask an admin) is told to ingest on an empty system,
    to give documents groups when some exist, and both when the count could not be read."""
    stdout = run_module(NO_ACCESS_SCRIPT, "filters.js")
    reader, empty, regroup, unknown = stdout.splitlines()
    assert reader == (
        "You can see no documents yet: your groups (hr) have access to none."
        " Ask an admin to give your groups access."
    )
    assert not any("Ask an admin" in line for line in (empty, regroup, unknown))
    assert empty.startswith("You can see no documents yet: your groups (ops) have access to none.")
    assert "Nothing is ingested yet" in empty and "Upload tab" in empty and "figvault ingest" in empty
    assert "you have no groups" in regroup and "2 documents exist" in regroup and "Admin tab" in regroup
    assert "Upload tab" in unknown and "Admin tab" in unknown


COUNT_SCRIPT = """
const { documentsCountText, isSearchable } = await import(process.argv[1]);
const docs = JSON.parse(process.argv[2]);
console.log(documentsCountText(docs));
console.log(documentsCountText(docs.slice(0, 1)));
console.log(documentsCountText([]));
console.log(JSON.stringify(docs.filter(isSearchable).map((doc) => doc.name)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_admin_tab_counts_searchable_documents_and_the_failed_apart() -> None:
    """2 documents and 2 files whose ingest failed read "4 documents" on the Admin tab; the search tab's
    document picker offered the failed ones (a search on them finds nothing) and counted them, so a caller
    whose documents all failed was not told it can search none."""
    docs = [
        {"name": "a.pdf", "state": "indexed", "groups": ["eng"], "searchable": True},
        {"name": "b.pdf", "state": "indexed", "groups": [], "searchable": True},
        {"name": "empty.pdf", "state": "failed", "groups": ["eng"], "searchable": False},
        {"name": "secret.pdf", "state": "failed", "groups": [], "searchable": False},
    ]
    two, one, none, names = run_module(COUNT_SCRIPT, "filters.js", json.dumps(docs)).splitlines()
    assert two == (
        "2 documents, 2 failed (the reason is on their rows); 1 visible to no one: give it groups below."
    )
    assert one == "1 document." and none == "No documents yet."
    assert json.loads(names) == ["a.pdf", "b.pdf"]
    search = static_text("search.js")
    assert search.count(".filter(isSearchable)") == 2  # the picker and an admin's tenant count
    assert "documentsCountText(docs)" in static_text("access.js")


RETRY_SCRIPT = """
const { awaitingRetry } = await import(process.argv[1]);
console.log(JSON.stringify(JSON.parse(process.argv[2]).map(awaitingRetry)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_offers_a_retry_for_a_job_awaiting_one() -> None:
    """The upload log shows a Retry button under an upload its lapsed credential stopped; it tells one by
    the server's own phase (a renamed phase on either side fails here)."""
    from figvault.pipeline.jobs import AWAITING_RETRY, INPUTS_REMOVED

    jobs = [
        {"state": "failed", "phase": AWAITING_RETRY},
        {"state": "failed", "phase": INPUTS_REMOVED},
        {"state": "succeeded", "phase": AWAITING_RETRY},
        {"state": "failed", "phase": "ingest"},
    ]
    stdout = run_module(RETRY_SCRIPT, "upload.js", json.dumps(jobs))
    assert json.loads(stdout) == [True, False, False, False]


WARNINGS_SCRIPT = """
const { warningLines } = await import(process.argv[1]);
for (const job of JSON.parse(process.argv[2])) console.log(JSON.stringify(warningLines(job)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_upload_log_shows_a_jobs_warnings() -> None:
    """A finished upload showed only "succeeded": its documents' warnings (a damaged PDF, a skipped
    picture) never reached the page. Each is shown under the job, by file name for its starter, by document
    id for others, with the count the answer left out."""
    jobs = [
        {
            "warnings": [
                {"document": "cut.pdf", "doc_id": "doc_1", "warning": "damaged PDF"},
                {"document": "", "doc_id": "doc_2", "warning": "page 2: picture skipped"},
            ],
            "warning_count": 5,
        },
        {"state": "succeeded"},
    ]
    with_warnings, without = run_module(WARNINGS_SCRIPT, "upload.js", json.dumps(jobs)).splitlines()
    assert json.loads(with_warnings) == [
        "cut.pdf: damaged PDF",
        "doc_2: page 2: picture skipped",
        "and 3 more warnings (figvault jobs show on the server)",
    ]
    assert json.loads(without) == []


JOBS_SCRIPT = """
const { jobLine, jobDetails } = await import(process.argv[1]);
for (const job of JSON.parse(process.argv[2])) console.log(JSON.stringify([jobLine(job), jobDetails(job)]));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_recent_jobs_say_how_each_ended_and_what_went_stale() -> None:
    """The Upload tab's Recent jobs (the page had no list of past jobs): each job on one line, then its
    failures, warnings and the documents whose files were gone from a folder ingested again (by the names
    and ids the job answer gives, ``JobOut.gone``/``pruned``)."""
    jobs = [
        {
            "type": "ingest",
            "state": "succeeded",
            "done": 2,
            "total": 2,
            "started_by": "ana",
            "message": "1 new, 1 unchanged",
            "errors": [{"item": "bad.pdf", "error": "encrypted PDF"}],
            "error_count": 3,
            "gone": [{"doc_id": "doc_1", "name": "old.pdf"}],
            "pruned": [{"doc_id": "doc_2", "name": "older.pdf"}],
        },
        {"type": "reencode", "state": "running", "done": 0, "total": 0},
    ]
    first, second = (
        json.loads(line) for line in run_module(JOBS_SCRIPT, "jobs.js", json.dumps(jobs)).splitlines()
    )
    assert first == [
        "ingest succeeded (2/2), by ana — 1 new, 1 unchanged",
        [
            "failed: bad.pdf: encrypted PDF",
            "and 2 more failures",
            "files gone, documents kept (an admin deletes them on the Admin tab): old.pdf (doc_1)",
            "files gone, documents deleted: older.pdf (doc_2)",
        ],
    ]
    assert second == ["reencode running", []]


def test_the_delete_dialog_quotes_the_name_on_one_line() -> None:
    """The Delete button's confirm dialog wrote the document's name as it is: a server file's name may hold
    line breaks and quotes (only uploads' names are cleaned), so the dialog could read as another question
    ("a.pdf\n\nThis deletes nothing, press OK"). The name and id are now quoted, on one line, without
    invisible formatting characters."""
    script = (
        "const m = await import(process.argv[1]);"
        "const doc = {name: process.argv[2], doc_id: process.argv[3], units: 2};"
        "console.log(JSON.stringify(m.deleteQuestion(doc)));"
    )
    name = 'a.pdf\n\nThis deletes nothing "really"; press OK\u202e'
    question = json.loads(run_module(script, "access.js", name, "doc_1"))
    assert "\n" not in question, question
    assert question.startswith('Delete "a.pdf\\n\\nThis deletes nothing \\"really\\"; press OK" ("doc_1")?')
