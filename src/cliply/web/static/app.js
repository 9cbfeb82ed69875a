// Cliply dashboard: a thin client of the JSON API (/api/v1). Tokens live in localStorage.
"use strict";
const API = "/api/v1";
const $ = (sel) => document.querySelector(sel);
const state = { access: localStorage.getItem("access"), refresh: localStorage.getItem("refresh"),
                workspace: localStorage.getItem("workspace"), timer: null };

async function api(path, opts = {}, retried = false) {
  const headers = Object.assign({}, opts.headers || {});
  if (state.access) headers["Authorization"] = "Bearer " + state.access;
  if (state.workspace) headers["X-Workspace-ID"] = state.workspace;
  if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(opts.json); }
  const r = await fetch(API + path, Object.assign({}, opts, { headers }));
  if (r.status === 401 && state.refresh && !retried && await refresh()) return api(path, opts, true);
  if (!r.ok) {
    let problem = {};
    try { problem = await r.json(); } catch (e) { /* not JSON */ }
    const err = new Error(problem.detail || problem.title || r.statusText);
    err.problem = problem; err.status = r.status; throw err;
  }
  return r.status === 204 ? null : (r.headers.get("content-type") || "").includes("json") ? r.json() : r;
}

async function refresh() {
  const r = await fetch(API + "/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: state.refresh }) });
  if (!r.ok) { logout(); return false; }
  saveTokens(await r.json()); return true;
}

function saveTokens(t) {
  state.access = t.access_token; state.refresh = t.refresh_token;
  localStorage.setItem("access", t.access_token); localStorage.setItem("refresh", t.refresh_token);
}

function logout() {
  if (state.refresh) fetch(API + "/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: state.refresh }) });
  localStorage.clear(); Object.assign(state, { access: null, refresh: null, workspace: null }); show("auth");
}

function show(view) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== view;
  $("#nav").hidden = view === "auth";
  clearInterval(state.timer);
  if (view === "projects") { loadProjects(); state.timer = setInterval(loadProjects, 4000); }
  if (view === "jobs") { loadJobs(); state.timer = setInterval(loadJobs, 4000); }
  if (view === "billing") loadUsage();
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === "text" ? (e.textContent = v) : e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

async function loadWorkspaces() {
  let list = await api("/workspaces");
  if (list.length === 0) list = [await api("/workspaces", { method: "POST", json: { name: "My workspace" } })];
  if (!list.some((w) => w.id === state.workspace)) state.workspace = list[0].id;
  localStorage.setItem("workspace", state.workspace);
  const sel = $("#workspace"); sel.replaceChildren();
  for (const w of list) sel.append(el("option", { value: w.id, text: `${w.name} (${w.plan}, ${w.role})` }));
  sel.value = state.workspace;
}

function fmtTime(s) { if (s == null) return ""; const m = Math.floor(s / 60); return `${m}:${String(Math.round(s % 60)).padStart(2, "0")}`; }

async function loadProjects() {
  const page = await api("/projects?limit=50");
  const body = $("#project-list tbody"); body.replaceChildren();
  for (const p of page.items) {
    const open = el("button", { text: "Open" }); open.onclick = () => openProject(p.id);
    const status = p.status === "failed" ? `failed: ${p.error_message || p.error_code}` : p.status;
    body.append(el("tr", {}, el("td", { text: p.name }), el("td", { text: status }),
      el("td", {}, el("progress", { max: "1", value: String(p.progress || 0) })),
      el("td", { text: fmtTime(p.duration_s) }), el("td", {}, open)));
  }
}

async function signedUrl(path) { return (await api(path + "?redirect=false")).url; }

async function openProject(id) {
  show("project");
  const render = async () => {
    const p = await api(`/projects/${id}`);
    $("#project-title").textContent = p.name;
    $("#project-status").textContent = p.status === "failed" ? `Failed: ${p.error_message}` : `${p.status} · ${Math.round((p.progress || 0) * 100)}%`;
    const links = $("#transcript-links"); links.replaceChildren();
    if (["detecting", "rendering", "ready"].includes(p.status)) {
      for (const f of ["json", "srt", "vtt"]) {
        const a = el("a", { href: "#", text: `transcript.${f}` });
        a.onclick = async (ev) => { ev.preventDefault(); const r = await api(`/projects/${id}/transcript?format=${f}`);
          const blob = r instanceof Response ? await r.blob() : new Blob([JSON.stringify(r, null, 2)]);
          const u = URL.createObjectURL(blob); const d = el("a", { href: u, download: `transcript.${f}` }); d.click(); };
        links.append(a, " ");
      }
    }
    const clips = await api(`/projects/${id}/clips`);
    const box = $("#clips"); box.replaceChildren();
    for (const c of clips) {
      const media = el("div");
      if (c.download_url) { const v = el("video", { controls: "", preload: "none" }); v.src = await signedUrl(`/clips/${c.id}/download`);
        if (c.thumbnail_url) v.poster = await signedUrl(`/clips/${c.id}/thumbnail`); media.append(v); }
      else media.append(el("p", { class: "muted", text: c.status }));
      const reasons = el("ul", { class: "reasons" });
      for (const r of c.reasons || []) reasons.append(el("li", {}, el("span", { class: "pts", text: r.available === false ? "n/a" : `+${(r.points ?? 0).toFixed(1)}` }), ` ${r.name}: ${r.reason || ""}`));
      box.append(el("div", { class: "clip" }, media, el("div", {},
        el("div", { class: "score", text: c.score != null ? `${Math.round(c.score)}/100` : "manual" }),
        el("h3", { text: c.title || "(untitled)" }),
        el("p", { class: "muted", text: `${fmtTime(c.start)}–${fmtTime(c.end)} · ${(c.hashtags || []).map((h) => "#" + h.replace(/^#/, "")).join(" ")}` }),
        el("p", { text: "Why this clip:" }), reasons)));
    }
    return p.status;
  };
  const st = await render();
  if (!["ready", "failed"].includes(st)) state.timer = setInterval(async () => { if (["ready", "failed"].includes(await render())) clearInterval(state.timer); }, 4000);
}

async function loadJobs() {
  const page = await api("/jobs?limit=50");
  const body = $("#job-list tbody"); body.replaceChildren();
  for (const j of page.items) body.append(el("tr", {}, el("td", { text: j.kind }), el("td", { text: j.status }),
    el("td", {}, el("progress", { max: "1", value: String(j.progress || 0) })),
    el("td", { text: `${j.attempts}/${j.max_attempts}` }), el("td", { text: j.error || "" })));
}

async function loadUsage() { $("#usage").textContent = JSON.stringify(await api("/billing/usage"), null, 2); }

$("#login-form").onsubmit = async (ev) => {
  ev.preventDefault(); $("#auth-error").textContent = "";
  const f = new FormData(ev.target);
  try {
    const r = await fetch(API + "/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: f.get("email"), password: f.get("password") }) });
    const body = await r.json(); if (!r.ok) throw new Error(body.detail || body.title);
    saveTokens(body); await start();
  } catch (e) { $("#auth-error").textContent = e.message; }
};
$("#signup").onclick = async () => {
  const f = new FormData($("#login-form")); $("#auth-error").textContent = "";
  const r = await fetch(API + "/auth/signup", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: f.get("email"), password: f.get("password") }) });
  const body = await r.json();
  if (!r.ok) { $("#auth-error").textContent = body.detail || (body.errors || []).map((e) => e.msg).join("; ") || body.title; return; }
  $("#login-form").requestSubmit();
};
$("#upload-form").onsubmit = (ev) => {
  ev.preventDefault(); $("#project-error").textContent = "";
  const xhr = new XMLHttpRequest(); const bar = $("#upload-progress"); bar.hidden = false;
  xhr.open("POST", API + "/projects"); xhr.setRequestHeader("Authorization", "Bearer " + state.access);
  xhr.setRequestHeader("X-Workspace-ID", state.workspace);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
  xhr.onload = () => { bar.hidden = true; if (xhr.status >= 400) { try { $("#project-error").textContent = JSON.parse(xhr.responseText).detail; } catch (e) { $("#project-error").textContent = xhr.statusText; } } loadProjects(); ev.target.reset(); };
  xhr.send(new FormData(ev.target));
};
$("#url-form").onsubmit = async (ev) => {
  ev.preventDefault(); $("#project-error").textContent = "";
  try { await api("/projects", { method: "POST", json: { url: new FormData(ev.target).get("url") } }); ev.target.reset(); loadProjects(); }
  catch (e) { $("#project-error").textContent = e.message; }
};
$("#workspace").onchange = (ev) => { state.workspace = ev.target.value; localStorage.setItem("workspace", state.workspace); show("projects"); };
$("#logout").onclick = logout;
for (const b of document.querySelectorAll("[data-view]")) b.onclick = () => show(b.dataset.view);

async function start() {
  if (!state.access) return show("auth");
  try { await loadWorkspaces(); show("projects"); } catch (e) { logout(); }
}
start();
