// The search view: question or example image, filters, and the results grid.

import { ImageCache, getJson, postForm, postJson } from "./api.js";
import {
  alsoInText,
  buildFilters,
  invalidFieldText,
  isSearchable,
  noAccessText,
  nothingFoundText,
  wholeNumber,
} from "./filters.js";
import { FIGURE_KINDS, el, formatScore, formatTimings, listFrom, pageLabel } from "./format.js";

export class SearchView {
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.images = new ImageCache();
    this.exampleImage = null;
    this.rerankTouched = false;
    this.inflight = null;
    this.form = document.getElementById("search-form");
    this.query = document.getElementById("query");
    this.status = document.getElementById("search-status");
    this.noMatch = document.getElementById("no-match");
    this.noAccess = document.getElementById("no-access");
    this.didYouMean = document.getElementById("did-you-mean");
    this.didYouMeanQuery = document.getElementById("did-you-mean-query");
    this.groups = [];
    this.admin = false;
    this.results = document.getElementById("results");
    this.docs = document.getElementById("filter-docs");
    this.kinds = document.getElementById("filter-kinds");
    this.after = document.getElementById("filter-after");
    this.before = document.getElementById("filter-before");
    this.tags = document.getElementById("filter-tags");
    this.knownTags = document.getElementById("known-tags");
    this.pages = document.getElementById("filter-pages");
    this.aspect = document.getElementById("filter-aspect");
    this.sizes = {
      min_width: document.getElementById("filter-min-width"),
      max_width: document.getElementById("filter-max-width"),
      min_height: document.getElementById("filter-min-height"),
      max_height: document.getElementById("filter-max-height"),
    };
    this.topK = document.getElementById("top-k");
    // The number controls by the request field they fill: the name a refused value is reported under.
    this.numberFields = new Map([...Object.entries(this.sizes), ["top_k", this.topK]].map(([f, i]) => [i, f]));
    this.rerank = document.getElementById("rerank");
    this.rerankNote = document.getElementById("rerank-note");
    this.dropzone = document.getElementById("dropzone");
    this.imageInput = document.getElementById("image-input");
    this.dropzoneFile = document.getElementById("dropzone-file");
    this.imageClear = document.getElementById("image-clear");
    this.renderKinds();
    this.bind();
  }

  renderKinds() {
    this.kinds.replaceChildren(
      ...FIGURE_KINDS.map((kind) =>
        el("label", {}, el("input", { type: "checkbox", value: kind, name: "kind" }), kind),
      ),
    );
  }

  bind() {
    // A <form> submits on Enter in the question box.
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    // A number out of its min/max blocks the submit with no sign but the browser's bubble; "invalid" does
    // not bubble, hence the capture.
    this.form.addEventListener("invalid", () => this.showInvalid(), true);
    this.rerank.addEventListener("change", () => {
      this.rerankTouched = true;
    });
    document.getElementById("filters-reset").addEventListener("click", () => this.resetFilters());
    // The server's respelling of a question whose words matched nothing: one click searches it.
    this.didYouMeanQuery.addEventListener("click", () => {
      this.query.value = this.didYouMeanQuery.textContent;
      this.form.requestSubmit();
    });
    this.dropzone.addEventListener("click", (event) => {
      if (event.target !== this.imageClear) this.imageInput.click();
    });
    this.dropzone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        this.imageInput.click();
      }
    });
    this.imageInput.addEventListener("change", () => {
      if (this.imageInput.files.length) this.setExampleImage(this.imageInput.files[0]);
    });
    for (const type of ["dragenter", "dragover"]) {
      this.dropzone.addEventListener(type, (event) => {
        event.preventDefault();
        this.dropzone.classList.add("dragging");
      });
    }
    for (const type of ["dragleave", "drop"]) {
      this.dropzone.addEventListener(type, () => this.dropzone.classList.remove("dragging"));
    }
    this.dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      const file = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/"));
      if (file) this.setExampleImage(file);
      else this.showError("Drop an image file (PNG, JPEG, WebP or GIF).");
    });
    this.imageClear.addEventListener("click", (event) => {
      event.stopPropagation();
      this.setExampleImage(null);
    });
  }

  setExampleImage(file) {
    this.exampleImage = file;
    this.imageInput.value = "";
    this.dropzone.querySelector("img")?.remove();
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = null;
    this.imageClear.hidden = !file;
    this.dropzoneFile.textContent = file ? file.name : "";
    if (file) {
      this.previewUrl = URL.createObjectURL(file);
      this.dropzoneFile.before(el("img", { src: this.previewUrl, alt: "Example image" }));
      this.run();
    }
  }

  resetFilters() {
    for (const option of this.docs.options) option.selected = false;
    for (const box of this.kinds.querySelectorAll("input")) box.checked = false;
    this.after.value = "";
    this.before.value = "";
    this.tags.value = "";
    this.pages.value = "";
    this.aspect.value = "";
    for (const input of Object.values(this.sizes)) input.value = "";
  }

  // The caller's groups and whether they administer, for the sentence shown when they can see no document.
  setGroups(groups, admin = false) {
    this.groups = groups;
    this.admin = admin;
  }

  // Nothing to search: say so plainly (and what to do) instead of showing an empty grid.
  async showNoAccess(visible) {
    const none = visible === 0;
    this.noAccess.hidden = !none;
    if (!none) return;
    let tenantDocuments;
    if (this.admin) {
      try {
        tenantDocuments = ((await getJson("/v1/admin/documents")).documents || []).filter(isSearchable).length;
      } catch {
        tenantDocuments = undefined; // the sentence then names both things an admin can do
      }
    }
    this.noAccess.textContent = noAccessText(this.groups, { admin: this.admin, tenantDocuments });
  }

  async loadDocuments() {
    try {
      // Only documents a search can find: a failed one in the picker (or the count) finds nothing.
      const docs = listFrom(await getJson("/v1/documents"), "documents", "items").filter(isSearchable);
      this.showNoAccess(docs.length);
      const selected = new Set([...this.docs.selectedOptions].map((o) => o.value));
      const tags = [...new Set(docs.flatMap((doc) => doc.tags || []))].sort();
      this.knownTags.replaceChildren(...tags.map((tag) => el("option", { value: tag })));
      this.docs.replaceChildren(
        ...docs.map((doc) => {
          const id = doc.doc_id ?? doc.id;
          const name = doc.doc ?? doc.name ?? doc.title ?? id;
          return el("option", { value: id, selected: selected.has(id) }, name);
        }),
      );
    } catch (error) {
      this.docs.replaceChildren(el("option", { disabled: true }, `documents unavailable: ${error.message}`));
    }
  }

  filters() {
    const sizes = Object.fromEntries(Object.entries(this.sizes).map(([field, input]) => [field, input.value]));
    return buildFilters({
      docIds: [...this.docs.selectedOptions].map((o) => o.value),
      kinds: [...this.kinds.querySelectorAll("input:checked")].map((box) => box.value),
      after: this.after.value,
      before: this.before.value,
      tags: this.tags.value,
      pages: this.pages.value,
      aspect: this.aspect.value,
      ...sizes,
    });
  }

  topKValue() {
    const k = wholeNumber(this.topK.value.trim());
    const most = Number(this.topK.max) || Infinity; // the server's MAX_TOP_K, written into the page it serves
    const first = Number(this.topK.defaultValue) || 10; // search.top_k: the value the server wrote into the page
    return Number.isInteger(k) ? Math.min(most, Math.max(1, k)) : Math.min(most, first);
  }

  // Every refused control named in the status line, the old results dimmed: they answer another search.
  showInvalid() {
    const refused = [...this.form.elements].filter((control) => control.willValidate && !control.validity.valid);
    if (!refused.length) return;
    this.inflight?.abort();
    this.noMatch.hidden = true;
    this.didYouMean.hidden = true;
    this.showError(
      refused
        .map((control) => {
          const field = this.numberFields.get(control);
          if (!field) return `${control.labels?.[0]?.textContent || control.id}: ${control.validationMessage}`;
          const { value, min, max, step } = control;
          return invalidFieldText(field, { value, min, max, step, badInput: control.validity.badInput });
        })
        .join(" "),
    );
  }

  async run() {
    // An example image runs the search without a submit: check the form as the submit would.
    if (!this.form.reportValidity()) return;
    const question = this.query.value.trim();
    if (!question && !this.exampleImage) {
      this.showError("Type a question or drop an example image.");
      this.query.focus();
      return;
    }
    this.inflight?.abort();
    const controller = new AbortController();
    this.inflight = controller;
    const rerank = this.rerankTouched ? this.rerank.checked : null;
    this.status.textContent = "Searching…";
    this.sentFilters = this.filters();
    this.noMatch.hidden = true;
    this.didYouMean.hidden = true;
    try {
      let response;
      if (this.exampleImage) {
        const form = new FormData();
        form.append("image", this.exampleImage, this.exampleImage.name);
        if (question) form.append("query", question); // used by the reranker only
        form.append("top_k", String(this.topKValue()));
        form.append("filters", JSON.stringify(this.sentFilters));
        if (rerank !== null) form.append("rerank", String(rerank));
        response = await postForm("/v1/search/image", form, { signal: controller.signal });
      } else {
        const body = { query: question, top_k: this.topKValue(), filters: this.sentFilters };
        if (rerank !== null) body.rerank = rerank;
        response = await postJson("/v1/search", body, { signal: controller.signal });
      }
      this.render(response);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.showError(error.message);
    }
  }

  showError(message) {
    this.status.textContent = message;
    this.status.classList.add("error");
    this.results.classList.add("stale"); // until a search answers again
  }

  render(response) {
    const hits = response.results || [];
    const timings = formatTimings(response.timings);
    this.status.classList.remove("error");
    this.results.classList.remove("stale");
    this.status.textContent = hits.length
      ? `${hits.length} figure${hits.length === 1 ? "" : "s"}${response.reranked ? ", reranked" : ""}` +
        (response.timings?.total ? ` in ${Math.round(response.timings.total)} ms` : "")
      : nothingFoundText(this.sentFilters);
    this.status.title = timings;
    // "None of the figures below" only makes sense when there are figures below.
    this.noMatch.hidden = !response.no_match || !hits.length;
    this.didYouMeanQuery.textContent = response.did_you_mean || "";
    this.didYouMean.hidden = !response.did_you_mean;
    this.showNoAccess(response.visible_documents);
    this.results.classList.toggle("weak", Boolean(response.no_match));
    if (!this.rerankTouched) this.rerank.checked = Boolean(response.reranked);
    this.rerankNote.textContent = response.rerank_note || "";
    this.images.clear();
    this.results.replaceChildren(...hits.map((hit, index) => this.card(hit, index, timings)));
  }

  card(hit, index, timings) {
    const img = el("img", { alt: hit.caption ? `Figure: ${hit.caption}` : `Figure on ${pageLabel(hit.doc, hit.page)}` });
    const thumb = el("div", { class: "thumb" }, img);
    const place = pageLabel(hit.doc, hit.page);
    const button = el(
      "button",
      {
        type: "button",
        class: "card",
        title: `${hit.doc}, ${place}\n${timings}`,
        "data-unit-id": hit.unit_id,
        "aria-label": `Open result ${index + 1}: ${hit.label || hit.caption || hit.title || "figure"}, ${hit.doc} ${place}`,
      },
      thumb,
      el(
        "div",
        { class: "card-body" },
        el("p", { class: "card-caption" }, hit.label && !(hit.caption || "").startsWith(hit.label) ? `${hit.label}. ` : "",
          hit.caption || hit.title || el("em", {}, "no caption")),
        el("p", { class: "card-doc", title: hit.doc }, hit.doc),
        hit.also_in?.length
          ? el("p", { class: "card-also", title: alsoInText(hit, hit.also_in.length) }, alsoInText(hit))
          : null,
        el(
          "div",
          { class: "card-meta" },
          el("span", {}, place, el("span", { class: "kind" }, hit.kind)),
          el("span", { class: "score", title: scoreTitle(hit) }, formatScore(hit.score)),
        ),
      ),
    );
    button.addEventListener("click", () => this.onOpen(hit));
    if (hit.image_url) {
      this.images.load(hit.image_url).then(
        (url) => {
          img.src = url;
        },
        () => {
          thumb.textContent = "image unavailable";
        },
      );
    }
    return el("li", {}, button);
  }
}

function scoreTitle(hit) {
  const parts = Object.entries(hit.channel_scores || {}).map(([name, value]) => `${name} ${formatScore(value)}`);
  if (typeof hit.rerank_score === "number") parts.push(`rerank ${formatScore(hit.rerank_score)}`);
  return parts.length ? parts.join(" · ") : "score";
}
