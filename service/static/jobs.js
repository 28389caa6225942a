// Recent jobs (Upload tab: editors and admins; GET /v1/jobs answers the jobs the caller may see): how each
// upload or server-folder ingest ended, its failures, warnings, and the documents whose files were gone
// from a folder ingested again. Before, the page followed only the uploads of this tab's own session.

import { getJson } from "./api.js";
import { el, listFrom } from "./format.js";
import { warningLines } from "./upload.js";

const SHOWN_JOBS = 20;

// "ingest succeeded (3/3), by ana — 3 new, 0 replaced, ...": one job on one line.
export function jobLine(job) {
  const counts = job.total ? ` (${job.done}/${job.total})` : "";
  const who = job.started_by ? `, by ${job.started_by}` : "";
  return `${job.type} ${job.state}${counts}${who}${job.message ? ` — ${job.message}` : ""}`;
}

// What a job says beyond its line: each failed document, each warning, the documents whose files are gone
// (kept and searchable until deleted) or that the ingest pruned.
export function jobDetails(job) {
  const lines = listFrom(job, "errors").map((e) => `failed: ${e.item}: ${e.error}`);
  const moreErrors = (job?.error_count ?? lines.length) - lines.length;
  if (moreErrors > 0) lines.push(`and ${moreErrors} more failure${moreErrors === 1 ? "" : "s"}`);
  lines.push(...warningLines(job).map((line) => `warning: ${line}`));
  const named = (docs) => docs.map((d) => `${d.name} (${d.doc_id})`).join(", ");
  const gone = listFrom(job, "gone");
  if (gone.length) {
    lines.push(`files gone, documents kept (an admin deletes them on the Admin tab): ${named(gone)}`);
  }
  const pruned = listFrom(job, "pruned");
  if (pruned.length) lines.push(`files gone, documents deleted: ${named(pruned)}`);
  return lines;
}

export class JobsView {
  constructor() {
    this.list = document.getElementById("jobs-list");
    this.status = document.getElementById("jobs-status");
    document.getElementById("jobs-refresh").addEventListener("click", () => this.load());
  }

  async load() {
    let jobs;
    try {
      jobs = listFrom(await getJson(`/v1/jobs?limit=${SHOWN_JOBS}`), "jobs");
    } catch (error) {
      this.status.textContent = `Jobs unavailable: ${error.message}`;
      return;
    }
    this.status.textContent = jobs.length ? "" : "No jobs yet.";
    this.list.replaceChildren(...jobs.map((job) => this.item(job)));
  }

  item(job) {
    const when = job.created_at ? new Date(job.created_at).toLocaleString() : "";
    const failed = ["failed", "cancelled"].includes(job.state);
    const item = el("li", { class: failed ? "failed" : job.state === "succeeded" ? "ok" : "" });
    item.append(el("span", { class: "hint", title: job.id }, `${when} · ${job.id}`), el("div", {}, jobLine(job)));
    const details = jobDetails(job);
    if (details.length) item.append(el("ul", { class: "upload-warnings" }, ...details.map((line) => el("li", {}, line))));
    return item;
  }
}
