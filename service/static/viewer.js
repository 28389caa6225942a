// The page viewer: the whole page or slide with the figure's box highlighted, and the previous/next
// figure of the same document (arrow keys). A native <dialog>: Esc closes it and focus returns.

import { ImageCache, getJson } from "./api.js";
import { pageLabel } from "./format.js";

export class PageViewer {
  constructor() {
    this.dialog = document.getElementById("viewer");
    this.title = document.getElementById("viewer-title");
    this.caption = document.getElementById("viewer-caption");
    this.note = document.getElementById("viewer-note");
    this.position = document.getElementById("viewer-position");
    this.frame = document.getElementById("page-frame");
    this.image = document.getElementById("page-image");
    this.highlight = document.getElementById("highlight");
    this.prev = document.getElementById("viewer-prev");
    this.next = document.getElementById("viewer-next");
    this.images = new ImageCache();
    this.units = [];
    this.index = -1;
    this.docUnits = new Map();
    this.showToken = 0;

    document.getElementById("viewer-close").addEventListener("click", () => this.dialog.close());
    this.prev.addEventListener("click", () => this.step(-1));
    this.next.addEventListener("click", () => this.step(1));
    // On the document, not the dialog: focus may sit on <body> (e.g. after the focused button is disabled).
    document.addEventListener("keydown", (event) => {
      if (!this.dialog.open || event.target instanceof HTMLInputElement) return;
      if (event.key === "ArrowLeft") {
        event.preventDefault();
        this.step(-1);
      } else if (event.key === "ArrowRight") {
        event.preventDefault();
        this.step(1);
      }
    });
    this.dialog.addEventListener("close", () => {
      this.images.clear();
      this.image.removeAttribute("src");
      this.returnFocus?.focus();
    });
    // A click on the backdrop (outside the dialog box) closes it too.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  async open(hit) {
    this.returnFocus = document.activeElement;
    this.units = [hit];
    this.index = 0;
    this.offset = 0;
    this.total = 1;
    this.dialog.showModal();
    this.show(hit);
    try {
      const listed = await this.unitsOf(hit.doc_id, hit.unit_id);
      const at = listed.units.findIndex((u) => u.unit_id === hit.unit_id);
      if (at >= 0 && this.units[0] === hit) {
        this.units = listed.units.map((u) => ({ ...u, doc: hit.doc, doc_id: hit.doc_id }));
        this.index = at;
        this.offset = listed.offset;
        this.total = listed.total;
        this.updateNav();
        // Opened from the map: the point had no geometry, the document's unit list has.
        if (!hit.bbox) this.show(this.units[at]);
      }
    } catch (error) {
      if (this.units[0] === hit) this.showNote(`Other figures of this document are unavailable: ${error.message}`);
    }
  }

  // The document's figures around this one: all of them, or a window of a very large document's (asked
  // again when the figure lies outside the window held).
  async unitsOf(docId, unitId, recentre = false) {
    const held = this.docUnits.get(docId);
    if (recentre || !held || !held.units.some((u) => u.unit_id === unitId)) {
      const query = new URLSearchParams({ around: unitId });
      const body = await getJson(`/v1/documents/${encodeURIComponent(docId)}/units?${query}`);
      const units = body.units || [];
      this.docUnits.set(docId, { units, offset: body.offset || 0, total: body.total || units.length });
    }
    return this.docUnits.get(docId);
  }

  forgetDocuments() {
    // After an upload a document's figures may have changed.
    this.docUnits.clear();
  }

  step(delta) {
    const target = this.index + delta;
    if (target >= 0 && target < this.units.length) {
      this.index = target;
      this.show(this.units[target]);
    } else if (this.offset + target >= 0 && this.offset + target < this.total) {
      this.stepPastWindow(delta);
    }
  }

  // Past the edge of a very large document's window: the window around the figure at its edge.
  async stepPastWindow(delta) {
    const edge = this.units[this.index];
    try {
      const listed = await this.unitsOf(edge.doc_id, edge.unit_id, true);
      const at = listed.units.findIndex((u) => u.unit_id === edge.unit_id);
      const target = at + delta;
      if (at < 0 || target < 0 || target >= listed.units.length || this.units[this.index] !== edge) return;
      this.units = listed.units.map((u) => ({ ...u, doc: edge.doc, doc_id: edge.doc_id }));
      this.offset = listed.offset;
      this.total = listed.total;
      this.index = target;
      this.show(this.units[target]);
    } catch (error) {
      if (this.units[this.index] === edge) this.showNote(`Other figures of this document are unavailable: ${error.message}`);
    }
  }

  updateNav() {
    const place = this.offset + this.index;
    this.prev.disabled = place <= 0;
    this.next.disabled = place >= this.total - 1;
    this.position.textContent = this.total > 1 ? `figure ${this.offset + this.index + 1} of ${this.total}` : "";
  }

  showNote(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  async show(unit) {
    const token = ++this.showToken;
    const place = pageLabel(unit.doc, unit.page);
    this.title.textContent = `${unit.doc}, ${place}`;
    this.caption.textContent = [unit.label && !(unit.caption || "").startsWith(unit.label) ? unit.label : "", unit.caption || unit.title]
      .filter(Boolean)
      .join(". ");
    this.showNote("");
    this.updateNav();
    this.placeHighlight(unit);
    this.highlight.replaceChildren();
    this.frame.classList.remove("placeholder");
    this.image.alt = `${unit.doc}, ${place}, with the figure outlined`;
    const pageUrl = `/v1/documents/${encodeURIComponent(unit.doc_id)}/pages/${unit.page}/image`;
    try {
      const url = await this.images.load(pageUrl);
      if (token !== this.showToken) return;
      this.image.hidden = false;
      this.image.src = url;
    } catch (error) {
      if (token !== this.showToken) return;
      // No page image (original not kept, or no LibreOffice for a deck): show the figure alone, in place,
      // on a blank page of the right proportions.
      this.image.hidden = true;
      this.frame.classList.add("placeholder");
      this.showNote(`The whole ${place.split(" ")[0]} cannot be shown (${error.message}); the figure is drawn in place.`);
      if (unit.image_url) {
        try {
          const figure = await this.images.load(unit.image_url);
          if (token !== this.showToken) return;
          const img = document.createElement("img");
          img.src = figure;
          img.alt = "";
          this.highlight.replaceChildren(img);
        } catch {
          // The outline alone still shows where the figure is.
        }
      }
    }
    if (token === this.showToken) this.highlight.scrollIntoView({ block: "center", inline: "center" });
  }

  placeHighlight(unit) {
    const [width, height] = unit.page_size || [0, 0];
    if (!(width > 0 && height > 0) || !unit.bbox) {
      this.highlight.hidden = true;
      return;
    }
    // The frame keeps the page's proportions and fits the screen height; the box is placed in percent of
    // the page, so it stays on the figure at any zoom.
    this.frame.style.aspectRatio = `${width} / ${height}`;
    this.frame.style.width = `min(100%, calc((94vh - 150px) * ${width / height}))`;
    const [x0, y0, x1, y1] = unit.bbox;
    const pct = (value, total) => `${Math.max(0, Math.min(100, (value / total) * 100)).toFixed(3)}%`;
    this.highlight.style.left = pct(x0, width);
    this.highlight.style.top = pct(y0, height);
    this.highlight.style.width = pct(x1 - x0, width);
    this.highlight.style.height = pct(y1 - y0, height);
    this.highlight.hidden = false;
  }
}
