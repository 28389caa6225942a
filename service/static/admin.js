// Admin tools: who sees which document (access.js), what the service serves (and re-encode jobs when the
// jobs API is there), the audit log, and the 2-D map of the collection.

import { AccessView } from "./access.js";
import { ApiError, ImageCache, getJson } from "./api.js";
import { el, formatTimings, listFrom, pageLabel } from "./format.js";

// Colour-blind-safe categorical palette (Okabe-Ito plus Tableau extras): neighbouring documents differ.
const PALETTE = [
  "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#f0e442", "#000000",
  "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#ff9896", "#98df8a", "#c5b0d5",
];
const SVG_NS = "http://www.w3.org/2000/svg";
const MAP_W = 800;
const MAP_H = 520;
const MAP_PAD = 24;

export class AdminView {
  constructor({ onOpen, onRegrouped }) {
    this.onOpen = onOpen;
    this.access = new AccessView({ onRegrouped });
    this.images = new ImageCache();
    this.statusPanel = document.getElementById("status-panel");
    this.statusList = document.getElementById("status-list");
    this.auditBody = document.querySelector("#audit-table tbody");
    this.map = document.getElementById("map");
    this.mapStatus = document.getElementById("map-status");
    this.mapLegend = document.getElementById("map-legend");
    this.tip = document.getElementById("map-tip");
    document.getElementById("audit-refresh").addEventListener("click", () => this.loadAudit());
    document.getElementById("map-refresh").addEventListener("click", () => this.loadMap());
  }

  async show() {
    await Promise.all([this.access.load(), this.loadStatus(), this.loadAudit(), this.loadMap()]);
  }

  async loadStatus() {
    const rows = [];
    try {
      // `figvault status` over HTTP, where the jobs part of the service is there.
      const status = await getJson("/v1/status");
      rows.push(["alias", status.alias], ["collection", status.collection ?? "none yet"]);
      rows.push(["served version", status.embedding_version ?? "—"]);
      rows.push(["configured version", status.configured_embedding_version ?? "—"]);
      rows.push(["versions match", status.version_matches ? "yes" : "no: run a re-encode"]);
      rows.push(["units", String(status.units)]);
      const job = status.reencode_job;
      rows.push(["re-encode", job ? describeJob(job) : "none running"]);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) rows.push(["status", error.message]);
      // No status endpoint on this server: readiness says what is served.
      try {
        const ready = await getJson("/readyz");
        rows.push(["service", ready.status]);
        for (const [name, value] of Object.entries(ready.checks || {})) {
          rows.push([name, value === true ? "ok" : String(value)]);
        }
      } catch (readyError) {
        rows.push(["service", readyError.message]);
      }
    }
    this.statusList.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    this.statusPanel.hidden = false;
  }

  async loadAudit() {
    try {
      const page = await getJson("/v1/audit?limit=100");
      const entries = listFrom(page, "entries");
      this.auditBody.replaceChildren(
        ...entries.map((entry) =>
          el(
            "tr",
            {},
            el("td", {}, new Date(entry.at).toLocaleString()),
            el("td", { title: entry.account || "" }, entry.user), // the account tells a name given again apart
            el("td", {}, entry.action),
            el("td", {}, entry.query || describeDetail(entry.detail)),
            el("td", { class: "ids", title: (entry.unit_ids || []).join("\n") }, `${(entry.unit_ids || []).length} units`),
          ),
        ),
      );
      if (!entries.length) this.auditBody.replaceChildren(el("tr", {}, el("td", { colspan: 5 }, "No entries yet.")));
    } catch (error) {
      this.auditBody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "error" }, error.message)));
    }
  }

  async loadMap() {
    this.mapStatus.textContent = "Projecting…";
    let data;
    try {
      data = await getJson("/v1/admin/map");
    } catch (error) {
      this.mapStatus.textContent = `Map unavailable: ${error.message}`;
      return;
    }
    this.drawMap(data);
  }

  drawMap(data) {
    this.images.clear();
    const colours = new Map(data.documents.map((doc, i) => [doc.doc_id, PALETTE[i % PALETTE.length]]));
    const points = data.points;
    const shown = points.length < data.total ? `${points.length} of ${data.total}` : `${points.length}`;
    const variance = data.explained.map((v) => `${Math.round(v * 100)}%`).join(" + ");
    this.mapStatus.textContent = points.length
      ? `${shown} figures from ${data.documents.length} documents, ${data.channel} vectors; the axes explain ${variance} of the variance.` +
        (data.duplicates.length ? ` ${data.duplicates.length} near-duplicate pair(s) are ringed.` : "")
      : "No figures to show.";

    const xs = points.map((p) => p.x);
    const ys = points.map((p) => p.y);
    const [minX, maxX] = [Math.min(...xs), Math.max(...xs)];
    const [minY, maxY] = [Math.min(...ys), Math.max(...ys)];
    const sx = (x) => MAP_PAD + ((x - minX) / (maxX - minX || 1)) * (MAP_W - 2 * MAP_PAD);
    // Screen y grows downwards; the map's y axis grows upwards.
    const sy = (y) => MAP_H - MAP_PAD - ((y - minY) / (maxY - minY || 1)) * (MAP_H - 2 * MAP_PAD);

    const byId = new Map(points.map((p) => [p.unit_id, p]));
    const duplicates = new Set(data.duplicates.flatMap((d) => [d.a, d.b]));
    const nodes = [];
    for (const pair of data.duplicates) {
      const a = byId.get(pair.a);
      const b = byId.get(pair.b);
      if (!a || !b) continue;
      const line = document.createElementNS(SVG_NS, "line");
      line.setAttribute("x1", sx(a.x));
      line.setAttribute("y1", sy(a.y));
      line.setAttribute("x2", sx(b.x));
      line.setAttribute("y2", sy(b.y));
      line.setAttribute("stroke", "#b3261e");
      line.setAttribute("stroke-dasharray", "3 2");
      nodes.push(line);
    }
    const radius = points.length > 2000 ? 3 : points.length > 300 ? 4.5 : 6;
    for (const point of points) {
      const circle = document.createElementNS(SVG_NS, "circle");
      circle.setAttribute("cx", sx(point.x).toFixed(1));
      circle.setAttribute("cy", sy(point.y).toFixed(1));
      circle.setAttribute("r", radius);
      circle.setAttribute("fill", colours.get(point.doc_id));
      if (duplicates.has(point.unit_id)) {
        circle.setAttribute("stroke", "#b3261e");
        circle.setAttribute("stroke-width", "2");
      }
      // Few enough points to reach by keyboard; thousands would make Tab useless, so then only the mouse.
      if (points.length <= 300) circle.setAttribute("tabindex", "0");
      circle.setAttribute("role", "button");
      circle.setAttribute("aria-label", `${point.label || point.caption || "figure"}, ${point.doc} ${pageLabel(point.doc, point.page)}`);
      circle.addEventListener("mouseenter", () => this.showTip(point, circle));
      circle.addEventListener("focus", () => this.showTip(point, circle));
      circle.addEventListener("mouseleave", () => this.hideTip());
      circle.addEventListener("blur", () => this.hideTip());
      circle.addEventListener("click", () => this.onOpen(point));
      circle.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.onOpen(point);
        }
      });
      nodes.push(circle);
    }
    this.map.replaceChildren(...nodes);
    this.mapLegend.replaceChildren(
      ...data.documents.map((doc) =>
        el("li", {}, el("span", { class: "swatch", "data-colour": colours.get(doc.doc_id) }), `${doc.doc} (${doc.units})`),
      ),
    );
    for (const swatch of this.mapLegend.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.colour;
  }

  async showTip(point, circle) {
    const dot = circle.getBoundingClientRect();
    const wrap = this.map.parentElement.getBoundingClientRect();
    const x = dot.left + dot.width / 2 - wrap.left;
    const y = dot.top + dot.height / 2 - wrap.top;
    // Right of the point, or left of it near the right edge.
    this.tip.style.left = `${x + 240 > wrap.width ? Math.max(0, x - 232) : x + 12}px`;
    this.tip.style.top = `${Math.max(0, y - 80)}px`;
    const img = el("img", { alt: "" });
    this.tip.replaceChildren(
      img,
      el("strong", {}, point.label || ""),
      el("div", {}, point.caption || ""),
      el("div", { class: "hint" }, `${point.doc}, ${pageLabel(point.doc, point.page)} · ${point.kind}`),
    );
    this.tip.hidden = false;
    this.tipFor = point.unit_id;
    try {
      const url = await this.images.load(point.image_url);
      if (this.tipFor === point.unit_id) img.src = url;
    } catch {
      img.remove();
    }
  }

  hideTip() {
    this.tip.hidden = true;
    this.tipFor = null;
  }
}

function describeJob(job) {
  // A store-wide job withholds its counts (they describe every tenant's units): its progress is a fraction.
  // An ingest's fraction is by file size, so both are shown: 50/51 documents can be 5% of the work.
  const percent = typeof job.progress === "number" ? ` ${Math.floor(job.progress * 100)}%` : "";
  const counts = job.total ? ` ${job.done}/${job.total}${percent ? `,${percent}` : ""}` : percent;
  const eta = typeof job.eta_s === "number" ? `, about ${Math.ceil(job.eta_s)} s left` : "";
  return `${job.state}${job.phase ? ` (${job.phase})` : ""}${counts}${eta}`;
}

function describeDetail(detail) {
  if (!detail || typeof detail !== "object") return "";
  if (Array.isArray(detail.documents)) return detail.documents.map((d) => d.name || d.doc_id).join(", ");
  if (Array.isArray(detail.after)) {
    return `${detail.name || detail.doc_id}: ${(detail.before || []).join(", ") || "(none)"} → ${detail.after.join(", ")}`;
  }
  if (detail.doc_id) return detail.doc_id;
  if (detail.timings) return formatTimings(detail.timings);
  return "";
}
