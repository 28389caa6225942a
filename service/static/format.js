// Small text helpers shared by the views.

// Mirrors figvault.units.FigureKind (tests/service/test_page_static.py keeps the two in step).
export const FIGURE_KINDS = ["raster", "vector", "mixed", "chart", "diagram", "picture", "slide-region"];

const PRESENTATION = /\.pptx$/i;

export function pageLabel(doc, page) {
  return `${PRESENTATION.test(doc || "") ? "slide" : "page"} ${page}`;
}

export function formatTimings(timings) {
  if (!timings) return "";
  return Object.entries(timings)
    .filter(([, ms]) => typeof ms === "number")
    .map(([stage, ms]) => `${stage} ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`)
    .join(" · ");
}

export function formatScore(score) {
  return typeof score === "number" ? score.toFixed(3) : "";
}

export function listFrom(body, ...keys) {
  // Endpoints answer either a bare list or an object holding it; accept both.
  if (Array.isArray(body)) return body;
  for (const key of keys) if (body && Array.isArray(body[key])) return body[key];
  return [];
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A name as one line in quotes, for a dialog's plain text (window.confirm): a server file's name may hold
// line breaks, quotes or bidi controls, which would make it read as more of the question, or as another name.
export function quotedName(name) {
  return JSON.stringify(String(name ?? "").replace(/\p{Cf}/gu, ""));
}
