// New project: drag-and-drop upload through tus (tus-js-client). Real progress, retries on
// dropped connections (resuming from the server's offset), and resume after a page reload
// when the same file is dropped again (the upload URL is remembered by file fingerprint).
import { Upload } from "tus-js-client";
import { api, csrfToken, showError, clearError, showLimit } from "../lib/api.js";

const form = document.getElementById("upload-form");
const zone = document.getElementById("dropzone");
const input = document.getElementById("file-input");
const statusBox = document.getElementById("upload-status");
const bar = document.getElementById("upload-progress");
const pct = document.getElementById("upload-pct");
const detail = document.getElementById("upload-detail");
const pauseBtn = document.getElementById("upload-pause");
const cancelBtn = document.getElementById("upload-cancel");
let current = null;
let paused = false;

function mb(n) { return (n / 1048576).toFixed(1) + " MB"; }

function metadata(file) {
  const meta = { filename: file.name, filetype: file.type || "video/mp4", name: file.name.replace(/\.[^.]+$/, "") };
  for (const el of form.querySelectorAll("input[name], select[name]")) {
    if (el.name === "file" || el.value === "") continue;
    meta[el.name] = el.value;
  }
  return meta;
}

function problemOfTus(err) {
  const res = err.originalResponse;
  if (!res) return { status: 0, detail: "The connection to Cliply was lost. The upload will resume when you drop the file again." };
  let p = {};
  try { p = JSON.parse(res.getBody() || "{}"); } catch { p = {}; }
  return { status: res.getStatus(), ...p, detail: p.detail || p.title || `Upload failed (HTTP ${res.getStatus()}).` };
}

async function finished(upload) {
  detail.textContent = "Upload complete. Opening the project…";
  const info = await api(upload.url);
  window.location.assign(`/projects/${info.project_id}`);
}

function start(file) {
  clearError(form);
  if (current) return;
  const max = Number(form.dataset.maxSize);
  if (max && file.size > max) {
    showError(form, `This file is ${mb(file.size)}; uploads are limited to ${mb(max)}.`);
    return;
  }
  statusBox.hidden = false;
  document.getElementById("upload-name").textContent = file.name;
  const startedAt = performance.now();
  let firstBytes = null;
  const upload = new Upload(file, {
    endpoint: "/api/v1/uploads",
    chunkSize: Number(form.dataset.chunkSize) || 8 * 1048576,
    retryDelays: [0, 1000, 2000, 4000, 8000, 15000],
    metadata: metadata(file),
    headers: { "X-CSRF-Token": csrfToken() },
    removeFingerprintOnSuccess: true,
    onProgress(sent, total) {
      if (firstBytes === null) firstBytes = sent;
      const p = total ? Math.floor((sent / total) * 100) : 0;
      bar.value = p;
      pct.textContent = `${p}%`;
      const secs = (performance.now() - startedAt) / 1000;
      const rate = secs > 0 ? (sent - firstBytes) / secs : 0;
      const eta = rate > 0 ? Math.ceil((total - sent) / rate) : null;
      detail.textContent = `${mb(sent)} of ${mb(total)}` + (eta !== null ? ` · about ${eta} s left` : "");
    },
    onShouldRetry(err) {
      const s = err.originalResponse ? err.originalResponse.getStatus() : 0;
      const retry = s === 0 || s === 409 || s === 423 || s >= 500;
      if (retry) detail.textContent = "Connection lost; resuming…";
      return retry;
    },
    onSuccess() { finished(upload).catch((e) => showError(form, e.message)); },
    onError(err) {
      const p = problemOfTus(err);
      if (p.status === 402) showLimit(p);
      showError(form, p.detail);
      current = null;
    },
  });
  current = upload;
  upload.findPreviousUploads().then((previous) => {
    if (previous.length) {
      upload.resumeFromPreviousUpload(previous[0]);
      detail.textContent = "Resuming your earlier upload of this file…";
    }
    upload.start();
  });
}

zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  zone.classList.remove("over");
  const file = e.dataTransfer?.files?.[0];
  if (file) start(file);
});
input.addEventListener("change", () => { if (input.files[0]) start(input.files[0]); });
pauseBtn.addEventListener("click", () => {
  if (!current) return;
  if (paused) { current.start(); pauseBtn.textContent = "Pause"; } else { current.abort(); pauseBtn.textContent = "Resume"; }
  paused = !paused;
});
cancelBtn.addEventListener("click", async () => {
  if (!current) return;
  const u = current;
  current = null;
  await Upload.terminate(u.url, { headers: { "X-CSRF-Token": csrfToken() } }).catch(() => {});
  await u.abort(true).catch(() => {});
  statusBox.hidden = true;
  bar.value = 0;
});
