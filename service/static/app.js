// figvault search page: sign in, then search, upload (editors) and administer (admins).
// Plain ES modules served by the figvault service itself; no build step, nothing from a CDN.

import { ApiError, clearToken, credentials, getJson, getToken, setToken } from "./api.js";
import { AdminView } from "./admin.js";
import { JobsView } from "./jobs.js";
import { SearchView } from "./search.js";
import { UploadView } from "./upload.js";
import { PageViewer } from "./viewer.js";

const ROLE_RANK = { reader: 0, editor: 1, admin: 2 };
const SIGNIN_NOTE_KEY = "figvault.signin-note";
const CREDENTIAL_REFUSED =
  "Your API key or token is no longer accepted (rotated, revoked or expired): sign in with the new one.";

class App {
  constructor() {
    this.viewer = new PageViewer();
    const open = (hit) => this.viewer.open(hit);
    this.search = new SearchView({ onOpen: open });
    this.jobs = new JobsView();
    this.upload = new UploadView({
      onIndexed: () => {
        this.viewer.forgetDocuments();
        this.search.loadDocuments();
        this.jobs.load();
      },
    });
    this.admin = new AdminView({
      onOpen: open,
      onRegrouped: () => {
        this.viewer.forgetDocuments();
        this.search.loadDocuments();
      },
    });
    this.sections = {
      signin: document.getElementById("signin-section"),
      search: document.getElementById("search-section"),
      upload: document.getElementById("upload-section"),
      admin: document.getElementById("admin-section"),
    };
    this.tabs = [...document.querySelectorAll("#tabs .tab")];
    this.bind();
  }

  bind() {
    document.getElementById("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("token");
      this.signIn(input.value.trim(), { fromForm: true });
    });
    document.getElementById("signout").addEventListener("click", () => this.signOut());
    credentials.addEventListener("refused", () => this.credentialRefused());
    for (const tab of this.tabs) tab.addEventListener("click", () => this.showTab(tab.dataset.tab));
  }

  async start() {
    const note = sessionStorage.getItem(SIGNIN_NOTE_KEY);
    if (note) {
      sessionStorage.removeItem(SIGNIN_NOTE_KEY);
      const error = document.getElementById("signin-error");
      error.textContent = note;
      error.hidden = false;
    }
    const token = getToken();
    if (token) await this.signIn(token, { fromForm: false });
    else this.showSignIn();
  }

  async signIn(token, { fromForm }) {
    const error = document.getElementById("signin-error");
    error.hidden = true;
    if (!token) return;
    setToken(token);
    try {
      this.me = await getJson("/v1/me");
    } catch (err) {
      clearToken();
      this.showSignIn();
      if (fromForm || !(err instanceof ApiError && err.status === 401)) {
        error.textContent = err instanceof ApiError && err.status === 401 ? "That key or token is not valid." : err.message;
        error.hidden = false;
      }
      return;
    }
    document.getElementById("token").value = "";
    this.showSignedIn();
  }

  // The credential this page signed in with is refused now (rotated, revoked, expired): back to the sign-in
  // with the reason. A sign-in in progress (no "me" yet) reports its own refusal.
  credentialRefused() {
    if (!this.me) return;
    this.me = null;
    sessionStorage.setItem(SIGNIN_NOTE_KEY, CREDENTIAL_REFUSED);
    this.signOut();
  }

  signOut() {
    clearToken();
    // A full reload drops every blob URL and every cached answer of the previous user.
    window.location.reload();
  }

  rank() {
    return Math.max(-1, ...(this.me.roles || []).map((role) => ROLE_RANK[role] ?? -1));
  }

  showSignIn() {
    for (const [name, section] of Object.entries(this.sections)) section.hidden = name !== "signin";
    document.getElementById("tabs").hidden = true;
    document.getElementById("whoami").hidden = true;
    document.getElementById("token").focus();
  }

  showSignedIn() {
    const me = this.me;
    const groups = (me.groups || []).join(", ") || "no groups";
    document.getElementById("whoami-text").textContent =
      `${me.user} · ${(me.roles || []).join(", ")} · ${groups}${me.tenant && me.tenant !== "default" ? ` · ${me.tenant}` : ""}`;
    document.getElementById("whoami").hidden = false;
    const rank = this.rank();
    for (const tab of this.tabs) {
      const needs = tab.dataset.needs;
      tab.hidden = needs !== undefined && rank < ROLE_RANK[needs];
    }
    document.getElementById("tabs").hidden = false;
    this.upload.setDefaultGroups(me.groups || []);
    this.search.setGroups(me.groups || [], rank >= ROLE_RANK.admin);
    this.search.loadDocuments();
    this.showTab("search");
    document.getElementById("query").focus();
  }

  showTab(name) {
    for (const [key, section] of Object.entries(this.sections)) section.hidden = key !== name;
    for (const tab of this.tabs) {
      if (tab.dataset.tab === name) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    if (name === "admin") this.admin.show();
    if (name === "upload") this.jobs.load();
  }
}

new App().start();
