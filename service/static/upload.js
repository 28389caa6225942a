// Uploads (editors): PDF/PPTX files with the groups that may see them. When the service answers with a
// job, its progress is followed live (server-sent events, or polling where the stream is unavailable);
// otherwise the synchronous result is shown.

import { ApiError, getJson, postForm, request, streamEvents } from "./api.js";
import { el, listFrom } from "./format.js";

const FINAL_STATES = new Set(["done", "succeeded", "completed", "failed", "cancelled", "canceled", "error"]);
const POLL_MS = 1000;
const AWAITING_RETRY = "awaiting retry";

// An upload its lapsed credential stopped keeps its files: its starter, signed in again, retries it
// (POST /v1/jobs/{id}/retry; the phase is pipeline/jobs.py AWAITING_RETRY).
export function awaitingRetry(job) {
  return String(job?.state).toLowerCase() === "failed" && job?.phase === AWAITING_RETRY;
}

// A job's per-document warnings (GET /v1/jobs/{id} `warnings`: a damaged PDF, a skipped picture, OCR
// stopped...), one line each: the file's name for its starter, else the document id; and how many more
// the answer left out.
export function warningLines(job) {
  const lines = listFrom(job, "warnings").map((w) => `${w.document || w.doc_id || "a document"}: ${w.warning}`);
  const more = (job?.warning_count ?? lines.length) - lines.length;
  if (more > 0) lines.push(`and ${more} more warning${more === 1 ? "" : "s"} (figvault jobs show on the server)`);
  return lines;
}

export class UploadView {
  constructor({ onIndexed }) {
    this.onIndexed = onIndexed;
    this.form = document.getElementById("upload-form");
    this.files = document.getElementById("upload-files");
    this.groups = document.getElementById("upload-groups");
    this.tags = document.getElementById("upload-tags");
    this.log = document.getElementById("upload-log");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload();
    });
  }

  setDefaultGroups(groups) {
    if (!this.groups.value) this.groups.value = groups.join(",");
  }

  async upload() {
    const files = [...this.files.files];
    if (!files.length) return;
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    form.append("groups", this.groups.value);
    if (this.tags.value.trim()) form.append("tags", this.tags.value);
    const entry = this.entry(`Uploading ${files.map((f) => f.name).join(", ")}…`);
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = await postForm("/v1/documents", form);
      const jobIds = jobIdsOf(body);
      entry.remove();
      if (jobIds.length) {
        // The files refused at upload (empty, not a PDF or PPTX) are in the answer beside the job.
        this.showResults(refusedOf(body));
        await Promise.all(jobIds.map((id) => this.follow(id)));
      } else {
        this.showResults(listFrom(body, "documents"));
      }
      this.files.value = "";
      this.onIndexed();
    } catch (error) {
      this.finish(entry, false, `Upload failed: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  entry(text) {
    const item = el("li", {}, el("span", { class: "upload-text" }, text));
    this.log.prepend(item);
    return item;
  }

  finish(item, ok, text) {
    item.classList.add(ok ? "ok" : "failed");
    item.querySelector(".upload-text").textContent = text;
    item.querySelector("progress")?.remove();
  }

  showResults(documents) {
    for (const doc of documents) {
      const item = this.entry("");
      const ok = !doc.error && !["failed", "rejected"].includes(doc.state);
      const units = typeof doc.units === "number" ? `, ${doc.units} figure${doc.units === 1 ? "" : "s"}` : "";
      this.finish(item, ok, ok ? `${doc.name}: ${doc.state}${units}` : `${doc.name}: ${doc.state} — ${doc.error || ""}`);
    }
  }

  async follow(jobId) {
    const item = this.entry(`Job ${jobId}: queued`);
    const bar = el("progress", { max: 1 });
    item.append(bar);
    const render = (job) => {
      const state = job.state || job.status || "running";
      const done = job.done ?? job.progress?.done;
      const total = job.total ?? job.progress?.total;
      // The share done by file size (one large file is most of the work), else by documents.
      const share = typeof job.progress === "number" ? job.progress : null;
      if (share !== null) {
        bar.max = 1;
        bar.value = share;
      } else if (typeof done === "number" && typeof total === "number" && total > 0) {
        bar.max = total;
        bar.value = done;
      }
      const percent = share !== null ? `, ${Math.floor(share * 100)}%` : "";
      const counts = typeof total === "number" ? ` (${done ?? 0}/${total}${percent})` : "";
      const message = job.message || job.error || "";
      item.querySelector(".upload-text").textContent = `Job ${jobId}: ${state}${counts}${message ? ` — ${message}` : ""}`;
      return state;
    };
    let last = {};
    try {
      await streamEvents(`/v1/jobs/${encodeURIComponent(jobId)}/events`, ({ data }) => {
        if (data && typeof data === "object") last = { ...last, ...data };
        render(last);
      });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      // No event stream on this server: poll the job instead.
      for (;;) {
        last = await getJson(`/v1/jobs/${encodeURIComponent(jobId)}`);
        if (FINAL_STATES.has(String(render(last)).toLowerCase())) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
    const state = String(last.state || last.status || "").toLowerCase();
    const ok = !["failed", "cancelled", "canceled", "error", "unauthorized"].includes(state);
    this.finish(item, ok, item.querySelector(".upload-text").textContent);
    const warnings = warningLines(last);
    if (warnings.length) {
      item.append(el("ul", { class: "upload-warnings" }, ...warnings.map((line) => el("li", {}, `warning: ${line}`))));
    }
    if (awaitingRetry(last)) item.append(this.retryButton(jobId, item));
  }

  retryButton(jobId, item) {
    const button = el("button", { type: "button" }, "Retry");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await request(`/v1/jobs/${encodeURIComponent(jobId)}/retry`, { method: "POST" });
        item.remove();
        await this.follow(jobId);
        this.onIndexed();
      } catch (error) {
        button.disabled = false;
        item.querySelector(".upload-text").textContent = `Retry failed: ${error.message}`;
      }
    });
    return button;
  }
}

// The files of an upload that a job answered which the service refused at once (POST /v1/documents
// `documents` with state "rejected" and the reason): the page showed only the job, which succeeded, and a
// refused file vanished without a word.
export function refusedOf(body) {
  return listFrom(body, "documents").filter((doc) => doc.state === "rejected");
}

function jobIdsOf(body) {
  if (!body || typeof body !== "object") return [];
  if (body.job_id) return [body.job_id];
  if (body.id && body.state) return [body.id]; // 202 Accepted with the job itself
  if (body.job?.id) return [body.job.id];
  if (body.job?.job_id) return [body.job.job_id];
  return listFrom(body, "jobs").map((job) => job.id ?? job.job_id).filter(Boolean);
}
