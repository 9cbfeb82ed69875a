// Project page: live progress over server-sent events, then the searchable transcript
// with click-to-seek on the source video.
import { api, showError } from "../lib/api.js";

const box = document.getElementById("progress");
const KIND_LABEL = {
  INGEST: "Check video", YOUTUBE_DOWNLOAD: "Download", TRANSCRIBE: "Transcribe",
  HIGHLIGHT_DETECT: "Find highlights", CLIP_RENDER: "Render clip",
};
const ORDER = ["uploading", "downloading", "probing", "transcribing", "detecting", "rendering", "ready"];

function fmtEta(s) {
  if (s == null) return "";
  if (s < 60) return `about ${s} s left`;
  return `about ${Math.round(s / 60)} min left`;
}

function paint(state) {
  const status = document.getElementById("p-status");
  status.textContent = state.status;
  status.className = `badge ${state.status}`;
  document.getElementById("p-bar").style.width = `${state.percent}%`;
  document.getElementById("p-percent").textContent = `${state.percent}%`;
  document.getElementById("p-eta").textContent = fmtEta(state.eta_s);
  document.getElementById("p-error").textContent = state.status === "failed" ? (state.error || "Processing failed.") : "";
  const idx = ORDER.indexOf(state.status);
  for (const li of document.querySelectorAll("#p-stages li")) {
    const i = ORDER.indexOf(li.dataset.stage);
    li.className = state.status === "ready" || i < idx ? "done" : i === idx ? "current" : "";
    if (i === idx && state.status !== "ready") li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  }
  const running = state.jobs.find((j) => j.status === "running");
  document.getElementById("p-stage-text").textContent = running
    ? `${KIND_LABEL[running.kind] || running.kind}${running.message ? ": " + running.message : ""}` : "";
  document.getElementById("p-clips").textContent = state.clips_total
    ? `${state.clips_ready} of ${state.clips_total} clips rendered` : "";
  const list = document.getElementById("p-jobs");
  list.replaceChildren(...state.jobs.map((j) => {
    const li = document.createElement("li");
    li.textContent = `${KIND_LABEL[j.kind] || j.kind}: ${j.status}` +
      (j.status === "running" ? ` (${Math.round(j.progress * 100)}%)` : "") +
      (j.attempts > 1 ? `, attempt ${j.attempts}` : "") + (j.error ? ` (${j.error})` : "");
    return li;
  }));
}

if (box?.dataset.events) {
  const source = new EventSource(box.dataset.events);
  box.dataset.live = "1";
  source.addEventListener("progress", (e) => {
    const state = JSON.parse(e.data);
    paint(state);
    if (state.done) {
      source.close();
      box.dataset.live = "done";
      // The transcript and the clips exist now: show them.
      setTimeout(() => window.location.reload(), 600);
    }
  });
}

// --- transcript -----------------------------------------------------------------------------
const tr = document.getElementById("transcript");
const player = document.getElementById("source-player");
const search = document.getElementById("tr-search");

function fmt(t) {
  const m = Math.floor(t / 60);
  return `${m}:${String(Math.floor(t % 60)).padStart(2, "0")}`;
}

async function loadTranscript() {
  let doc;
  try {
    doc = await api(tr.dataset.src);
  } catch (err) {
    tr.textContent = "";
    showError(tr, err.message);
    return;
  }
  const frag = document.createDocumentFragment();
  for (const seg of doc.segments || []) {
    const p = document.createElement("p");
    const stamp = document.createElement("span");
    stamp.className = "muted";
    stamp.textContent = `${fmt(seg.start)} `;
    p.append(stamp);
    const words = seg.words && seg.words.length ? seg.words : [{ text: seg.text, start: seg.start, end: seg.end }];
    for (const w of words) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "w";
      b.dataset.start = w.start;
      b.dataset.end = w.end;
      b.textContent = w.text.trim();
      p.append(b, " ");
    }
    frag.append(p);
  }
  tr.replaceChildren(frag);
  if (!doc.segments || !doc.segments.length) tr.textContent = "No speech was found in this video.";
}

if (tr) {
  loadTranscript();
  tr.addEventListener("click", (e) => {
    const b = e.target instanceof Element ? e.target.closest("button.w") : null;
    if (!b || !player) return;
    player.currentTime = Number(b.dataset.start);
    player.play().catch(() => {});
  });
  search?.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    let n = 0, first = null;
    const words = [...tr.querySelectorAll("button.w")];
    const norm = (x) => x.toLowerCase().replace(/[^\p{L}\p{N}']/gu, "");
    const terms = q.split(/\s+/).map(norm).filter(Boolean);
    words.forEach((b) => b.classList.remove("hit"));
    words.forEach((b, i) => {
      if (!terms.length) return;
      const hit = terms.every((t, k) => words[i + k] && norm(words[i + k].textContent).includes(t));
      if (!hit) return;
      for (let k = 0; k < terms.length; k++) words[i + k].classList.add("hit");
      n++;
      first ??= b;
    });
    document.getElementById("tr-count").textContent = terms.length ? `${n} match${n === 1 ? "" : "es"}` : "";
    first?.scrollIntoView({ block: "center", behavior: "smooth" });
  });
  player?.addEventListener("timeupdate", () => {
    const t = player.currentTime;
    tr.querySelector("button.w.now")?.classList.remove("now");
    for (const b of tr.querySelectorAll("button.w")) {
      if (Number(b.dataset.start) <= t && t < Number(b.dataset.end)) { b.classList.add("now"); break; }
    }
  });
}
