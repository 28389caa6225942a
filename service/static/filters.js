// The search filters as the request wants them (POST /v1/search `filters`), from the form's plain values,
// and the "also in" line of a collapsed hit. No DOM here: tests/service/test_page_static.py runs it in node.

import { pageLabel } from "./format.js";

export const ASPECTS = ["landscape", "portrait", "square"];
const SIZE_FIELDS = ["min_width", "max_width", "min_height", "max_height"];

// A number input's text as the request wants it: a whole number as a number ("1e3" is 1000: parseInt read 1),
// anything else as typed, so that the server refuses it naming its field instead of a wrong number passing.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i; // a number input's grammar ("0x10" is not one)

export function wholeNumber(text) {
  const number = Number(text);
  return DECIMAL.test(text) && Number.isInteger(number) ? number : text;
}

export function splitTags(text) {
  return [...new Set((text || "").split(",").map((t) => t.trim()).filter(Boolean))];
}

// values: { docIds: [], kinds: [], after, before, tags: "a, b", pages: "3-7", aspect,
//           min_width, max_width, min_height, max_height } (strings as the inputs hold them)
export function buildFilters(values) {
  const filters = {};
  if (values.docIds?.length) filters.doc_ids = values.docIds;
  if (values.kinds?.length) filters.kinds = values.kinds;
  if (values.after) filters.after = values.after;
  if (values.before) filters.before = values.before;
  const tags = splitTags(values.tags);
  // Commas alone (","): sent as an empty tag for the server to refuse by name; dropped, the search ran
  // unfiltered over every document, as if the box were empty.
  if (tags.length) filters.tags = tags;
  else if ((values.tags || "").trim()) filters.tags = [""];
  const pages = (values.pages || "").trim();
  if (pages) filters.pages = pages; // the server parses "3-7", "5", "3-", "-7" and says what is wrong
  for (const field of SIZE_FIELDS) {
    const text = String(values[field] ?? "").trim();
    if (text !== "") filters[field] = wholeNumber(text);
  }
  if (ASPECTS.includes(values.aspect)) filters.aspect = values.aspect;
  return filters;
}

// The filter controls' names on the page, by the request field they fill.
const FILTER_TITLES = {
  doc_ids: "Documents",
  kinds: "Kind",
  tags: "Tags",
  pages: "Pages or slides",
  min_width: "Size",
  max_width: "Size",
  min_height: "Size",
  max_height: "Size",
  aspect: "Shape",
  after: "Created",
  before: "Created",
};

// What an empty result says: with filters set, which ones, so that nothing found reads as "the filters
// left nothing", not as "nothing is there".
export function nothingFoundText(filters) {
  const titles = [...new Set(Object.keys(filters || {}).map((field) => FILTER_TITLES[field] || field))];
  if (!titles.length) return "No figures found.";
  return `No figures pass the filters (${titles.join(", ")}). Reset filters to search every document you can see.`;
}

export function alsoInText(hit, shown = 3) {
  const places = hit.also_in || [];
  if (!places.length) return "";
  const names = places.slice(0, shown).map((p) => `${p.doc} ${pageLabel(p.doc, p.page)}`);
  const more = places.length > shown ? ` and ${places.length - shown} more` : "";
  return `Also in: ${names.join(", ")}${more}`;
}

// Whether a search can find the document (GET /v1/documents, /v1/admin/documents: `searchable`, false for one
// whose ingest failed or still runs: the server's one definition, pipeline/document_counts.py).
export function isSearchable(doc) {
  return doc.searchable === true;
}

// The Admin tab's count: the documents a search can find, the failed ones said apart (their reason is on their
// row). It counted every record, so 2 documents and 2 broken files read "4 documents".
export function documentsCountText(docs) {
  if (!docs.length) return "No documents yet.";
  const found = docs.filter(isSearchable);
  const failed = docs.filter((doc) => doc.state === "failed").length;
  const hidden = found.filter((doc) => !doc.groups.length).length;
  const failedText = failed ? `, ${failed} failed (the reason is on ${failed === 1 ? "its row" : "their rows"})` : "";
  const hiddenText = hidden ? `; ${hidden} visible to no one: give ${hidden === 1 ? "it" : "them"} groups below.` : ".";
  return `${found.length} document${found.length === 1 ? "" : "s"}${failedText}${hiddenText}`;
}

// What a caller who can see no document is told, with what they can do about it. A reader or editor asks an
// admin; an admin is the one to act: `tenantDocuments` (GET /v1/admin/documents; undefined when unknown)
// tells an empty system (ingest something) from documents shared with none of the admin's groups.
export function noAccessText(groups, { admin = false, tenantDocuments } = {}) {
  const mine = groups.length ? `your groups (${groups.join(", ")}) have` : "you have no groups, so you have";
  const start = `You can see no documents yet: ${mine} access to none.`;
  if (!admin) return `${start} Ask an admin to give your groups access.`;
  const upload = "upload PDF or PPTX files in the Upload tab (or run figvault ingest FOLDER --groups GROUPS)";
  const regroup = "give documents groups in the Admin tab (Documents and who sees them)";
  if (tenantDocuments === 0) return `${start} Nothing is ingested yet: ${upload}.`;
  if (tenantDocuments > 0) {
    const some = `${tenantDocuments} document${tenantDocuments === 1 ? " exists" : "s exist"}`;
    return `${start} ${some}: ${regroup}.`;
  }
  return `${start} As an admin: ${upload}, or ${regroup}.`;
}

// What the status line says about a number filter the browser refuses to submit (its min, max or step: the
// form's "invalid" event), naming the field as the server's own 422 answer does ("min width: ..."). Before,
// the search silently did not run and the previous search's status stayed over the old results.
// control: { value, min, max, step, badInput } as the <input type="number"> holds them (strings).
export function invalidFieldText(field, control) {
  const name = field.replaceAll("_", " ");
  const whole = !control.step || control.step === "1" ? "a whole number" : `a multiple of ${control.step}`;
  const { min, max } = control;
  const range = min && max ? ` from ${min} to ${max}` : min ? `, ${min} or more` : max ? `, ${max} or less` : "";
  const typed = control.badInput ? " (what is typed is not a number)" : control.value ? ` (not ${control.value})` : "";
  return `${name}: must be ${whole}${range}${typed}.`;
}
