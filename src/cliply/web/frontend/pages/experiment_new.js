// New experiment from a clip: 2-5 variant fieldsets (each field left empty keeps the clip's
// own), where and when they post, then one POST /api/v1/experiments; errors land next to the
// form, success opens the experiment's page.
import { api, showError, clearError, messageOf } from "../lib/api.js";
import "./experiments.css";

const form = document.getElementById("experiment-form");
const list = document.getElementById("variants");
const template = document.getElementById("variant-template");
const addButton = document.getElementById("add-variant");
const max = Number(form.dataset.max || 5);
const LABELS = "ABCDE";

function relabel() {
  const sets = [...list.querySelectorAll("[data-variant]")];
  sets.forEach((set, i) => {
    set.querySelector("[data-label]").textContent = LABELS[i];
    set.dataset.label = LABELS[i];
    set.querySelector(".remove-variant").hidden = sets.length <= 2;
    set.querySelector(".remove-variant").setAttribute("aria-label", `Remove variant ${LABELS[i]}`);
  });
  addButton.disabled = sets.length >= max;
}

function addVariant() {
  const node = template.content.firstElementChild.cloneNode(true);
  node.querySelector(".remove-variant").addEventListener("click", () => {
    node.remove();
    relabel();
  });
  list.append(node);
  relabel();
}

function isoLocal(value) {
  // datetime-local is wall-clock time in the browser's zone: send it with its offset.
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function variantBody(set) {
  const get = (name) => set.querySelector(`[name="${name}"]`).value.trim();
  const body = { label: set.dataset.label };
  if (get("hook_sentence")) body.hook_sentence = Number(get("hook_sentence"));
  for (const name of ["title", "caption", "caption_style"]) if (get(name)) body[name] = get(name);
  if (get("hashtags")) body.hashtags = get("hashtags").split(/[\s,]+/).filter(Boolean);
  if (get("title_overlay")) body.title_overlay = get("title_overlay") === "true";
  if (get("thumbnail_at")) body.thumbnail_at = Number(get("thumbnail_at"));
  const postAt = isoLocal(get("post_at"));
  if (postAt) body.post_at = postAt;
  return body;
}

function body() {
  const out = {
    clip_id: form.dataset.clip,
    name: form.elements.name.value.trim(),
    metric: form.elements.metric.value,
    variants: [...list.querySelectorAll("[data-variant]")].map(variantBody),
    auto_promote: form.elements.auto_promote.checked,
  };
  const accounts = [...form.querySelectorAll('input[name="account_ids"]:checked')].map((i) => i.value);
  if (accounts.length) {
    out.schedule = {
      account_ids: accounts,
      mode: form.querySelector('input[name="mode"]:checked').value,
      privacy: form.elements.privacy.value,
    };
    const start = isoLocal(form.elements.start_at.value);
    if (start) out.schedule.start_at = start;
  }
  return out;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const exp = await api("/api/v1/experiments", { method: "POST", json: body() });
    window.location.assign(`/experiments/${exp.id}`);
  } catch (err) {
    button.disabled = false;
    showError(form, err.problem ? messageOf(err.problem) : err.message);
  }
});

addButton.addEventListener("click", addVariant);
addVariant();
addVariant();
