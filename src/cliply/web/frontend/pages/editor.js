// The clip editor. A draft of the clip's look (trim, caption fixes, title, overlay, aspect,
// caption style) lives here; previews are drawn by the server from that same draft
// (POST /clips/{id}/preview) and "Save and re-render" PATCHes it: what was previewed renders.
import WaveSurfer from "wavesurfer.js";
import RegionsPlugin from "wavesurfer.js/dist/plugins/regions.esm.js";
import { api, showError, clearError, toast } from "../lib/api.js";
import "./editor.css";

const root = document.getElementById("editor");
const clipId = root.dataset.clipId;
const canEdit = root.dataset.canEdit === "true";
let clip = JSON.parse(document.getElementById("clip-data").textContent);

const $ = (id) => document.getElementById(id);
const player = $("player");
const transcript = $("transcript");
const PAD = 30; // seconds of source shown around the clip on the timeline

let words = []; // {index, text, original, start, end}
let duration = null; // source duration
let draft = null;
let cursor = null; // index of the word with the keyboard cursor
let anchor = null; // selection anchor (Shift+arrows)
let selection = null; // [from, to] word indices
let view = null; // timeline window [start, end] in source seconds
let wave = null;
let region = null;
let mode = "source";
let previewTimer = null;
let previewSeq = 0;

function reveal(el, center = false) {
  // Scroll the transcript box only, never the page.
  if (!el) return;
  const top = el.offsetTop - (center ? transcript.clientHeight / 2 : 0);
  if (center || el.offsetTop < transcript.scrollTop || el.offsetTop > transcript.scrollTop + transcript.clientHeight - 24) {
    transcript.scrollTop = Math.max(0, center ? top : el.offsetTop - 24);
  }
}

function fmt(t) {
  const m = Math.floor(t / 60);
  const s = (t - m * 60).toFixed(2).padStart(5, "0");
  return `${m}:${s}`;
}

function freshDraft() {
  return {
    start: clip.start,
    end: clip.end,
    title: clip.title,
    title_overlay: clip.title_overlay,
    description: clip.description,
    hashtags: clip.hashtags.join(" "),
    aspect: clip.aspect,
    caption_style: clip.caption_style,
    caption_edits: { ...clip.caption_edits },
    caption_fx: { ...clip.caption_fx },
  };
}

// --- words ------------------------------------------------------------------------------------

function shownText(w) {
  const fix = draft.caption_edits[String(w.index)];
  return fix === undefined ? w.original : fix;
}

function renderWords() {
  const frag = document.createDocumentFragment();
  for (const w of words) {
    const span = document.createElement("span");
    span.className = "w";
    span.dataset.i = w.index;
    span.id = `w-${w.index}`;
    span.textContent = shownText(w) || "∅";
    frag.append(span, " ");
  }
  transcript.replaceChildren(frag);
  paintWords();
}

function paintWords() {
  for (const w of words) {
    const el = document.getElementById(`w-${w.index}`);
    if (!el) continue;
    const inClip = w.start >= draft.start - 1e-3 && w.end <= draft.end + 1e-3;
    const fix = draft.caption_edits[String(w.index)];
    el.classList.toggle("in", inClip);
    el.classList.toggle("fixed", fix !== undefined);
    el.classList.toggle("sel", !!selection && w.index >= selection[0] && w.index <= selection[1]);
    el.classList.toggle("cursor", w.index === cursor);
    el.textContent = (fix === undefined ? w.original : fix) || "∅";
    el.title = fix !== undefined ? `Said: “${w.original}”` : fmt(w.start);
  }
  transcript.setAttribute("aria-activedescendant", cursor !== null ? `w-${cursor}` : "");
  const hasSel = !!selection;
  if ($("trim-to-selection")) $("trim-to-selection").disabled = !hasSel;
  if ($("fix-word-open")) $("fix-word-open").disabled = cursor === null;
}

function wordAt(node) {
  const el = node && (node.nodeType === 1 ? node : node.parentElement);
  const span = el && el.closest ? el.closest(".w") : null;
  return span && transcript.contains(span) ? Number(span.dataset.i) : null;
}

function setCursor(i, { extend = false, seek = true } = {}) {
  cursor = Math.max(0, Math.min(words.length - 1, i));
  if (extend) {
    if (anchor === null) anchor = cursor;
    selection = [Math.min(anchor, cursor), Math.max(anchor, cursor)];
  } else {
    anchor = cursor;
    selection = null;
  }
  paintWords();
  const el = document.getElementById(`w-${cursor}`);
  reveal(el);
  const w = words[cursor];
  $("cursor-live").textContent = `${shownText(w) || "hidden word"} at ${fmt(w.start)}` +
    (selection ? `, ${selection[1] - selection[0] + 1} words selected` : "");
  if (seek && mode === "source") player.currentTime = w.start;
}

transcript.addEventListener("mouseup", () => {
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed) return;
  const a = wordAt(sel.anchorNode);
  const b = wordAt(sel.focusNode);
  if (a === null || b === null) return;
  selection = [Math.min(a, b), Math.max(a, b)];
  anchor = a;
  cursor = b;
  paintWords();
});

transcript.addEventListener("click", (e) => {
  const sel = window.getSelection();
  if (sel && !sel.isCollapsed) return; // a drag-selection, handled on mouseup
  const i = wordAt(e.target);
  if (i === null) return;
  setCursor(i, { extend: e.shiftKey });
});

transcript.addEventListener("dblclick", (e) => {
  const i = wordAt(e.target);
  if (i === null || !canEdit) return;
  window.getSelection()?.removeAllRanges();
  setCursor(i, { seek: false });
  openFix();
});

transcript.addEventListener("keydown", (e) => {
  if (!words.length) return;
  const step = { ArrowRight: 1, ArrowDown: 8, ArrowLeft: -1, ArrowUp: -8 }[e.key];
  if (step !== undefined) {
    e.preventDefault();
    const from = cursor === null ? firstInClip() : cursor + step;
    setCursor(from, { extend: e.shiftKey });
  } else if (e.key === "Enter" && selection && canEdit) {
    e.preventDefault();
    trimToSelection();
  } else if ((e.key === "e" || e.key === "E" || e.key === "F2") && cursor !== null && canEdit) {
    e.preventDefault();
    openFix();
  }
});

function firstInClip() {
  const w = words.find((x) => x.start >= draft.start - 1e-3);
  return w ? w.index : 0;
}

$("word-search").addEventListener("input", (e) => {
  const q = e.target.value.trim().toLowerCase();
  transcript.querySelectorAll(".w.hit").forEach((el) => el.classList.remove("hit"));
  if (!q) return;
  let first = null;
  for (const w of words) {
    if (shownText(w).toLowerCase().includes(q)) {
      document.getElementById(`w-${w.index}`)?.classList.add("hit");
      if (first === null) first = w.index;
    }
  }
  if (first !== null) reveal(document.getElementById(`w-${first}`), true);
});

// --- trimming ---------------------------------------------------------------------------------

function snapStart(t) {
  let best = words[0];
  for (const w of words) if (Math.abs(w.start - t) < Math.abs(best.start - t)) best = w;
  return best.start;
}

function snapEnd(t, after) {
  let best = null;
  for (const w of words) {
    if (w.end <= after) continue;
    if (!best || Math.abs(w.end - t) < Math.abs(best.end - t)) best = w;
  }
  return best ? best.end : t;
}

function setTrim(start, end) {
  draft.start = Math.round(start * 1000) / 1000;
  draft.end = Math.round(end * 1000) / 1000;
  if (view && (draft.start < view[0] || draft.end > view[1])) {
    loadTimeline(Math.min(view[0], draft.start - 5), Math.max(view[1], draft.end + 5));
  } else {
    syncRegion();
  }
  paintWords();
  showTrim();
  changed(true);
}

function trimToSelection() {
  if (!selection) return;
  const a = words[selection[0]];
  const b = words[selection[1]];
  setTrim(a.start, b.end);
  player.currentTime = a.start;
  toast(`Trimmed to ${selection[1] - selection[0] + 1} words.`);
}

function nudge(which, delta) {
  if (which === "start") {
    const i = words.findIndex((w) => w.start >= draft.start - 1e-3);
    const j = Math.max(0, Math.min(words.length - 1, i + delta));
    if (words[j].start < draft.end) setTrim(words[j].start, draft.end);
  } else {
    let i = -1;
    words.forEach((w, k) => { if (w.end <= draft.end + 1e-3) i = k; });
    const j = Math.max(0, Math.min(words.length - 1, i + delta));
    if (words[j].end > draft.start) setTrim(draft.start, words[j].end);
  }
}

function showTrim() {
  const out = $("trim-readout");
  out.dataset.start = String(draft.start); // machine-readable (and for the browser tests)
  out.dataset.end = String(draft.end);
  const len = draft.end - draft.start;
  const moved = draft.start !== clip.start || draft.end !== clip.end;
  out.textContent = `${fmt(draft.start)} – ${fmt(draft.end)} · ${len.toFixed(1)} s` +
    (moved ? ` (was ${(clip.end - clip.start).toFixed(1)} s)` : "");
}

document.querySelectorAll("[data-nudge]").forEach((b) =>
  b.addEventListener("click", () => {
    const [which, d] = b.dataset.nudge.split(":");
    nudge(which, Number(d));
  }));
$("trim-to-selection")?.addEventListener("click", trimToSelection);
$("wider")?.addEventListener("click", () => {
  const len = view[1] - view[0];
  loadTimeline(view[0] - len / 2, view[1] + len / 2);
});

// --- the timeline (waveform + trim region) -----------------------------------------------------

async function loadTimeline(from, to) {
  const start = Math.max(0, from);
  const end = duration ? Math.min(duration, to) : to;
  try {
    const data = await api(`clips/${clipId}/waveform?start=${start.toFixed(3)}&end=${end.toFixed(3)}`);
    view = [data.start, data.end];
    drawWave(data.peaks, data.end - data.start);
  } catch (err) {
    showError($("wave"), `The waveform could not be loaded: ${err.message}`);
  }
}

function drawWave(peaks, length) {
  const regions = RegionsPlugin.create();
  if (wave) wave.destroy();
  wave = WaveSurfer.create({
    container: "#wave",
    height: 72,
    waveColor: "#8a94a6",
    progressColor: "#8a94a6",
    cursorWidth: 0,
    normalize: true,
    interact: true,
    peaks: [peaks],
    duration: length,
    plugins: [regions],
  });
  region = null;
  wave.on("interaction", (t) => {
    setMode("source");
    player.currentTime = view[0] + t;
  });
  // A region added before the duration is known is clamped to 0 s: add it once it is.
  wave.on("decode", () => syncRegion(regions));
  if (wave.getDuration() > 0) syncRegion(regions);
  regions.on("region-updated", (r) => {
    const s = snapStart(view[0] + r.start);
    // A clip lasts at least 1 s (the API refuses shorter): the end stays a second past the start.
    const e = snapEnd(Math.max(view[0] + r.end, s + 1), s + 0.999);
    setTrim(s, e);
  });
  wave._regions = regions;
}

function syncRegion(regions = wave?._regions) {
  if (!regions || !view || !(wave?.getDuration() > 0)) return;
  const opts = { start: draft.start - view[0], end: draft.end - view[0] };
  if (!region) {
    region = regions.addRegion({
      ...opts,
      color: "rgba(37, 99, 235, 0.22)",
      drag: canEdit,
      resize: canEdit,
    });
  } else {
    region.setOptions(opts);
  }
}

function tick() {
  if (view && mode === "source") {
    const pct = ((player.currentTime - view[0]) / (view[1] - view[0])) * 100;
    $("playhead").style.left = `${Math.max(0, Math.min(100, pct))}%`;
    // The trim preview plays the selection only.
    if (!player.paused && player.currentTime >= draft.end) {
      player.pause();
      player.currentTime = draft.start;
    }
  }
  requestAnimationFrame(tick);
}

// --- player -------------------------------------------------------------------------------------

function setMode(next) {
  if (mode === next && player.src) return;
  mode = next;
  $("show-source").setAttribute("aria-pressed", String(next === "source"));
  $("show-render").setAttribute("aria-pressed", String(next === "render"));
  $("playhead").hidden = next !== "source";
  if (next === "source") {
    player.src = `/api/v1/clips/${clipId}/source`;
    player.addEventListener("loadedmetadata", () => { player.currentTime = draft.start; }, { once: true });
  } else {
    player.src = `/api/v1/clips/${clipId}/download?v=${clip.render_version}`;
  }
}

$("show-source").addEventListener("click", () => setMode("source"));
$("show-render").addEventListener("click", () => setMode("render"));
player.addEventListener("play", () => {
  if (mode === "source" && (player.currentTime < draft.start - 0.05 || player.currentTime >= draft.end)) {
    player.currentTime = draft.start;
  }
});

// --- caption fixes --------------------------------------------------------------------------------

function openFix() {
  const form = $("fix-form");
  if (!form || cursor === null) return;
  const w = words[cursor];
  $("fix-original").textContent = w.original;
  $("fix-text").value = shownText(w);
  form.hidden = false;
  $("fix-text").focus();
  $("fix-text").select();
}

$("fix-word-open")?.addEventListener("click", openFix);
$("fix-cancel")?.addEventListener("click", () => { $("fix-form").hidden = true; transcript.focus(); });
$("fix-reset")?.addEventListener("click", () => {
  delete draft.caption_edits[String(cursor)];
  $("fix-form").hidden = true;
  paintWords();
  changed(true);
  transcript.focus();
});
$("fix-form")?.addEventListener("submit", (e) => {
  e.preventDefault();
  const w = words[cursor];
  const text = $("fix-text").value.trim();
  if (text === w.original) delete draft.caption_edits[String(w.index)];
  else draft.caption_edits[String(w.index)] = text;
  $("fix-form").hidden = true;
  paintWords();
  changed(true);
  toast(text ? `Caption fixed: “${text}”.` : "Word hidden from the captions.");
  transcript.focus();
});

// --- look, previews, save ------------------------------------------------------------------------

const form = $("look-form");

function readForm() {
  draft.title = $("f-title").value;
  draft.title_overlay = $("f-overlay").checked;
  draft.description = $("f-description").value;
  draft.hashtags = $("f-hashtags").value;
  draft.aspect = $("f-aspect").value;
  draft.caption_style = form.querySelector('input[name="caption_style"]:checked')?.value || draft.caption_style;
  for (const el of form.querySelectorAll("[data-fx]")) {
    const key = el.dataset.fx;
    if (el.type === "checkbox") draft.caption_fx[key] = el.checked;
    else draft.caption_fx[key] = el.value.trim() === "" ? null : Number(el.value);
  }
}

function fxDiff() {
  // Only the caption effects that changed (the API keeps the others).
  const out = {};
  for (const [k, v] of Object.entries(draft.caption_fx)) if (clip.caption_fx[k] !== v) out[k] = v;
  return out;
}

function editsDiff() {
  const out = {};
  const before = clip.caption_edits;
  for (const [k, v] of Object.entries(draft.caption_edits)) if (before[k] !== v) out[k] = v;
  for (const k of Object.keys(before)) if (!(k in draft.caption_edits)) out[k] = null;
  return out;
}

function lookBody() {
  const body = {
    title: draft.title,
    title_overlay: draft.title_overlay,
    aspect: draft.aspect,
    caption_style: draft.caption_style,
  };
  if (draft.start !== clip.start || draft.end !== clip.end) Object.assign(body, { start: draft.start, end: draft.end });
  const edits = editsDiff();
  if (Object.keys(edits).length) body.caption_edits = edits;
  const fx = fxDiff();
  if (Object.keys(fx).length) body.caption_fx = fx;
  return body;
}

function isDirty() {
  const tags = clip.hashtags.join(" ");
  return draft.start !== clip.start || draft.end !== clip.end || draft.title !== clip.title ||
    draft.title_overlay !== clip.title_overlay || draft.description !== clip.description ||
    draft.hashtags.trim() !== tags || draft.aspect !== clip.aspect ||
    draft.caption_style !== clip.caption_style || Object.keys(editsDiff()).length > 0 ||
    Object.keys(fxDiff()).length > 0;
}

function changed(lookChanged) {
  $("dirty") && ($("dirty").textContent = isDirty() ? "Unsaved changes" : "");
  if (lookChanged) schedulePreview();
}

form.addEventListener("input", (e) => {
  readForm();
  const look = ["f-title", "f-overlay", "f-aspect"].includes(e.target.id) || "fx" in e.target.dataset;
  changed(look && (e.target.id !== "f-title" || draft.title_overlay));
  if (e.target.name === "caption_style") changed(false);
});
form.addEventListener("change", (e) => {
  if (e.target.id === "f-aspect") {
    document.querySelector(".player-frame").className = `player-frame aspect-${draft.aspect.replace(":", "x")}`;
  }
});

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(loadPreviews, 500);
}

async function loadPreviews() {
  const seq = ++previewSeq;
  const note = $("preview-note");
  note.textContent = "(drawing previews…)";
  try {
    const body = lookBody();
    delete body.caption_style; // every style is drawn
    const res = await api(`clips/${clipId}/preview`, { method: "POST", json: body });
    if (seq !== previewSeq) return;
    for (const item of res.items) {
      const img = form.querySelector(`img[data-style="${item.caption_style}"]`);
      if (!img) continue;
      img.src = item.url;
      img.hidden = false;
      img.dataset.look = item.look;
    }
    note.textContent = `(a real frame at ${res.frame_at.toFixed(1)} s of this clip, as it will render)`;
    clearError(note);
  } catch (err) {
    if (seq !== previewSeq) return;
    note.textContent = "";
    showError(note, `Previews could not be drawn: ${err.message}`);
  }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!canEdit) return;
  readForm();
  const body = {
    ...lookBody(),
    description: draft.description,
    hashtags: draft.hashtags.split(/[\s,]+/).map((t) => t.replace(/^#/, "")).filter(Boolean),
  };
  const save = $("save");
  save.disabled = true;
  clearError(form);
  try {
    const before = clip.render_version;
    clip = await api(`clips/${clipId}`, { method: "PATCH", json: body });
    draft = freshDraft();
    $("clip-heading").textContent = clip.title || "Untitled clip";
    paintWords();
    showTrim();
    changed(false);
    if (clip.render_version !== before) {
      toast("Saved. Re-rendering…");
      watchRender();
    } else {
      toast("Saved.");
    }
  } catch (err) {
    showError(save, err.message);
  } finally {
    save.disabled = false;
  }
});

// --- render status -----------------------------------------------------------------------------------

function showStatus() {
  const badge = $("status-badge");
  badge.className = `badge ${clip.status}`;
  badge.textContent = clip.status;
  const job = clip.render_job;
  const box = $("render-progress");
  const busy = clip.status === "queued" || clip.status === "rendering";
  box.hidden = !busy;
  if (busy) {
    const p = job ? job.progress : 0;
    $("render-bar").value = p;
    $("render-text").textContent = clip.status === "queued"
      ? "Waiting for a worker…"
      : `Rendering ${Math.round(p * 100)} %`;
  }
  $("status-text").textContent = clip.status === "failed"
    ? `Render failed: ${clip.error || (job && job.error) || "unknown error"}`
    : clip.status === "ready" ? `Version ${clip.render_version} rendered.` : "";
  $("show-render").disabled = !clip.download_url;
}

let watching = false;
async function watchRender() {
  if (watching) return;
  watching = true;
  showStatus();
  try {
    while (clip.status === "queued" || clip.status === "rendering") {
      await new Promise((r) => setTimeout(r, 1000));
      clip = await api(`clips/${clipId}`);
      showStatus();
    }
    if (clip.status === "ready") {
      toast("The new version is rendered.");
      setMode("render");
      player.src = `/api/v1/clips/${clipId}/download?v=${clip.render_version}`;
    }
  } catch (err) {
    showError($("status-text"), `Lost track of the render: ${err.message}`);
  } finally {
    watching = false;
  }
}

// --- start ---------------------------------------------------------------------------------------------

async function start() {
  draft = freshDraft();
  showTrim();
  showStatus();
  setMode("source");
  requestAnimationFrame(tick);
  try {
    const data = await api(`clips/${clipId}/words`);
    words = data.words.map((w) => ({ index: w.index, original: w.original, start: w.start, end: w.end }));
    duration = data.duration;
    renderWords();
    const first = words.find((w) => w.start >= clip.start - 1e-3);
    if (first) reveal(document.getElementById(`w-${first.index}`), true);
  } catch (err) {
    transcript.replaceChildren();
    showError(transcript, `The transcript could not be loaded: ${err.message}`);
  }
  await loadTimeline(clip.start - PAD, clip.end + PAD);
  loadPreviews();
  if (clip.status === "queued" || clip.status === "rendering") watchRender();
}

start();
