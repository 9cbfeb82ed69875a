// Loaded by every page: htmx, the CSRF header, error display, the plan-limit dialog and a
// few declarative behaviours (data-autosubmit, data-close-dialog, data-confirm).
import htmx from "htmx.org";
import { messageOf, showError, clearError, showLimit, toast } from "./lib/api.js";

window.htmx = htmx; // htmx extensions and debugging expect the global

// Every htmx request carries the CSRF token (also set by hx-headers on <body>).
document.addEventListener("htmx:configRequest", (e) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
});

document.addEventListener("htmx:beforeRequest", (e) => clearError(e.detail.elt));

// API errors become a readable message next to the element that sent the request.
document.addEventListener("htmx:responseError", async (e) => {
  const xhr = e.detail.xhr;
  let problem = {};
  try { problem = JSON.parse(xhr.responseText); } catch { problem = { detail: xhr.statusText }; }
  if (xhr.status === 402) showLimit(problem);
  showError(e.detail.elt, messageOf(problem));
});
document.addEventListener("htmx:sendError", (e) =>
  showError(e.detail.elt, "Cliply cannot be reached. Check your connection and try again."));

document.addEventListener("change", (e) => {
  const el = e.target;
  if (el instanceof HTMLElement && el.hasAttribute("data-autosubmit")) el.form?.requestSubmit();
});

document.addEventListener("click", (e) => {
  const t = e.target instanceof Element ? e.target : null;
  const closer = t?.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog")?.close();
  const confirmer = t?.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }
}, true);

// Copy buttons: <button data-copy="#input-id">
document.addEventListener("click", async (e) => {
  const b = e.target instanceof Element ? e.target.closest("[data-copy]") : null;
  if (!b) return;
  const src = document.querySelector(b.getAttribute("data-copy"));
  if (!src) return;
  try {
    await navigator.clipboard.writeText(src.value || src.textContent);
    toast("Copied.");
  } catch {
    src.select?.();
  }
});
