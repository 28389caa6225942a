// HTTP client of the page: every call carries the bearer token; images come back as blob URLs because an
// <img src> cannot send an Authorization header.

const TOKEN_KEY = "figvault.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  // sessionStorage, never localStorage: the credential dies with the tab.
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// The API's paths as the server and its docs name them ("/v1/search", "/readyz", a hit's image_url) start
// at the service's root. Fetched as written they would miss a page served under a reverse proxy's path
// prefix (intranet/figvault/): made relative, they resolve against the page's own address, so the
// page works at a host's root and under any prefix alike, whether or not the server knows the prefix.
export function pageRelative(path) {
  return path.startsWith("/") && !path.startsWith("//") ? path.slice(1) : path;
}

function authHeaders(extra = {}) {
  const token = getToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

// A 422's list of problems as one sentence naming each field ("min width: Input should be greater than or
// equal to 0"): pydantic's messages alone do not say which control is wrong.
export function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return "";
  return detail
    .map((problem) => {
      const message = String(problem.msg || JSON.stringify(problem)).replace(/^Value error, /, "");
      const field = [...(problem.loc || [])].reverse().find((part) => typeof part === "string" && part !== "body");
      return field && !message.startsWith(`${field}:`) ? `${field.replaceAll("_", " ")}: ${message}` : message;
    })
    .join("; ");
}

// Fires "refused" when the server answers 401 to a request that carried a credential: the key was rotated
// or revoked, or the token expired, while the page was open. The page then asks to sign in again (app.js)
// instead of showing the refusal in whichever view made the request.
export const credentials = new EventTarget();

async function errorFrom(response) {
  if (response.status === 401 && getToken()) credentials.dispatchEvent(new Event("refused"));
  let detail = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (typeof body.detail === "string" || Array.isArray(body.detail)) detail = detailText(body.detail) || detail;
    else if (body.error) detail = body.error;
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(response.status, detail);
}

export async function request(path, { method = "GET", json, form, signal } = {}) {
  const init = { method, headers: authHeaders(), signal };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  const response = await fetch(pageRelative(path), init);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("application/json") ? response.json() : response.text();
}

export const getJson = (path, opts) => request(path, opts);
export const postJson = (path, json, opts = {}) => request(path, { ...opts, method: "POST", json });
export const postForm = (path, form, opts = {}) => request(path, { ...opts, method: "POST", form });
export const patchJson = (path, json, opts = {}) => request(path, { ...opts, method: "PATCH", json });

// A page image still being rendered (503) or this reader's other first render still running (429) is worth
// waiting for: the server says how long in Retry-After. A few tries, each wait capped, then the error shows.
export const BUSY_TRIES = 4;
const BUSY_STATUSES = new Set([429, 503]);

export async function fetchRetryingBusy(path, init, sleep = (ms) => new Promise((done) => setTimeout(done, ms))) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(pageRelative(path), init);
    const header = response.headers.get("Retry-After");
    const retryAfter = header === null ? NaN : Number(header);
    if (!BUSY_STATUSES.has(response.status) || !(retryAfter >= 0) || attempt >= BUSY_TRIES || init.signal?.aborted) {
      return response;
    }
    await sleep(Math.min(retryAfter, 10) * 1000);
  }
}

// Blob URLs of fetched images, by URL; revoked together when a view is replaced.
export class ImageCache {
  constructor() {
    this.urls = new Map();
  }

  async load(path, signal) {
    if (this.urls.has(path)) return this.urls.get(path);
    const response = await fetchRetryingBusy(path, { headers: authHeaders(), signal });
    if (!response.ok) throw await errorFrom(response);
    const url = URL.createObjectURL(await response.blob());
    this.urls.set(path, url);
    return url;
  }

  clear() {
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
  }
}

// Server-sent events over fetch (EventSource cannot send an Authorization header either).
// Calls onEvent({event, data}) per message; resolves when the stream ends.
export async function streamEvents(path, onEvent, signal) {
  const response = await fetch(pageRelative(path), { headers: authHeaders({ Accept: "text/event-stream" }), signal });
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const message = parseEventBlock(block);
      if (message) onEvent(message);
    }
  }
}

function parseEventBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}
