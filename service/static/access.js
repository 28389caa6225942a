// Admins: every document of the tenant with its groups, including those no one can see yet (ingested
// without groups), a form per document to change them (PATCH /v1/documents/{id}: rewritten in place), and
// a button to delete one (DELETE /v1/documents/{id}: a file ingested by mistake; while `figvault serve`
// holds the embedded store, the command line's `documents delete` cannot).

import { getJson, patchJson, request } from "./api.js";
import { documentsCountText } from "./filters.js";
import { el, quotedName } from "./format.js";

export class AccessView {
  constructor({ onRegrouped }) {
    this.onRegrouped = onRegrouped;
    this.body = document.querySelector("#access-table tbody");
    this.status = document.getElementById("access-status");
    document.getElementById("access-refresh").addEventListener("click", () => this.load());
  }

  async load() {
    let docs;
    try {
      docs = (await getJson("/v1/admin/documents")).documents || [];
    } catch (error) {
      this.status.textContent = `Documents unavailable: ${error.message}`;
      return;
    }
    this.status.textContent = documentsCountText(docs);
    this.body.replaceChildren(...docs.map((doc) => this.row(doc)));
  }

  row(doc) {
    const input = el("input", {
      type: "text",
      class: "access-groups",
      value: doc.groups.join(", "),
      placeholder: "e.g. finance, hr",
      spellcheck: "false",
      autocomplete: "off",
      "aria-label": `Groups of ${doc.name}`,
    });
    const save = el("button", { type: "submit", class: "secondary" }, "Save");
    const note = el("span", { class: "hint", role: "status" });
    const form = el(
      "form",
      { class: "access-form", "data-doc-id": doc.doc_id, "data-doc-name": doc.name },
      input,
      " ",
      save,
      " ",
      note,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save(doc, input, save, note);
    });
    const who = doc.groups.length ? "" : el("span", { class: "access-none" }, " (visible to no one)");
    const remove = el("button", { type: "button", class: "secondary", "aria-label": `Delete ${doc.name}` }, "Delete");
    remove.addEventListener("click", () => this.remove(doc, remove));
    return el(
      "tr",
      {},
      el("td", { title: doc.doc_id }, doc.name, who),
      el("td", {}, String(doc.units)),
      el("td", {}, doc.error ? `${doc.state}: ${doc.error}` : doc.state),
      el("td", {}, form),
      el("td", {}, remove),
    );
  }

  async remove(doc, button) {
    if (!window.confirm(deleteQuestion(doc))) return;
    button.disabled = true;
    try {
      await request(`/v1/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE" });
      this.onRegrouped?.();
      await this.load();
      this.status.textContent = `${doc.name} deleted.`;
    } catch (error) {
      button.disabled = false;
      this.status.textContent = `${doc.name}: ${error.message}`;
    }
  }

  async save(doc, input, button, note) {
    const groups = input.value.split(",").map((g) => g.trim()).filter(Boolean);
    if (!groups.length) {
      note.textContent = "Give at least one group.";
      return;
    }
    button.disabled = true;
    note.textContent = "Saving…";
    try {
      const out = await patchJson(`/v1/documents/${encodeURIComponent(doc.doc_id)}`, { groups });
      note.textContent = `Saved: ${out.units_rewritten} figure${out.units_rewritten === 1 ? "" : "s"} now visible to ${out.groups.join(", ")}.`;
      this.onRegrouped?.();
      await this.load();
      this.status.textContent = `${doc.name}: groups ${out.before.join(", ") || "(none)"} → ${out.groups.join(", ")}.`;
    } catch (error) {
      note.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  }
}

// What the admin confirms: what goes, and what does not (the file itself, wherever it came from).
export function deleteQuestion(doc) {
  const figures = `${doc.units} figure${doc.units === 1 ? "" : "s"}`;
  return `Delete ${quotedName(doc.name)} (${quotedName(doc.doc_id)})? Its ${figures} leave every search at once. The file itself is not touched; ingesting or uploading it again brings it back.`;
}
