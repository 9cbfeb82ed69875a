// Brand kit: uploads (multipart, with the CSRF header), settings (one PUT), and a live
// mock-up of captions and logo on a vertical frame. Everything goes through the JSON API.
import { api, clearError, csrfToken, problemOf, ApiError, showError, toast } from "../lib/api.js";
import "./brand.css";

const root = document.getElementById("brand");
const canEdit = root.dataset.canEdit === "true";
let kit = JSON.parse(document.getElementById("brand-data").textContent);
const form = document.getElementById("brand-form");
const preview = document.getElementById("brand-preview");
const caption = document.getElementById("preview-caption");
const logo = document.getElementById("preview-logo");
const COLORS = ["caption_color", "caption_active_color", "caption_outline_color"];
const STYLE_SIZE = 0.045; // the bold style's size, what "the style's own" looks like here

function field(name) {
  return form.elements.namedItem(name);
}

// The form's values as the API's change (colours only when their box is ticked).
function draft() {
  const out = {};
  for (const name of COLORS) {
    const use = document.querySelector(`[data-use="${name}"]`);
    out[name] = use.checked ? field(name).value.toUpperCase() : null;
  }
  out.caption_position = field("caption_position").value || null;
  out.caption_size = field("caption_size").value ? Number(field("caption_size").value) : null;
  out.logo_corner = field("logo_corner").value;
  out.logo_opacity = Number(field("logo_opacity").value) / 100;
  out.logo_scale = Number(field("logo_scale").value) / 100;
  out.default_caption_style = field("default_caption_style").value || null;
  out.default_aspect = field("default_aspect").value || null;
  return out;
}

let fontVersion = 0;
async function loadFont() {
  if (!kit.font) {
    caption.style.fontFamily = "";
    return;
  }
  fontVersion += 1;
  try {
    const face = new FontFace(`CliplyBrand${fontVersion}`, `url(/api/v1/brand/font?v=${Date.now()})`);
    await face.load();
    document.fonts.add(face);
    caption.style.fontFamily = `"CliplyBrand${fontVersion}", sans-serif`;
    caption.dataset.font = kit.font_family || "";
  } catch {
    caption.style.fontFamily = "";
  }
}

function draw() {
  const d = draft();
  const h = preview.clientHeight || 480;
  caption.style.color = d.caption_color || "#FFFFFF";
  caption.querySelector(".active").style.color = d.caption_active_color || "#FFE600";
  const outline = d.caption_outline_color || "#000000";
  caption.style.textShadow = `0 0 2px ${outline}, 0 0 2px ${outline}, 0 0 3px ${outline}`;
  caption.style.fontSize = `${Math.round((d.caption_size || STYLE_SIZE) * h)}px`;
  caption.classList.remove("pos-top", "pos-middle", "pos-bottom");
  caption.classList.add(`pos-${d.caption_position || "bottom"}`);
  preview.dataset.position = d.caption_position || "";
  logo.className = `preview-logo corner-${d.logo_corner}`;
  logo.style.opacity = String(d.logo_opacity);
  logo.style.maxWidth = `${Math.round(d.logo_scale * 100)}%`;
  logo.style.maxHeight = `${Math.round(d.logo_scale * 100 * (9 / 16))}%`;
  document.getElementById("opacity-out").textContent = `${Math.round(d.logo_opacity * 100)} %`;
  document.getElementById("scale-out").textContent = `${Math.round(d.logo_scale * 100)} %`;
}

function showKit() {
  const fontLine = document.getElementById("font-current");
  fontLine.replaceChildren();
  if (kit.font) {
    const strong = document.createElement("strong");
    strong.id = "font-family";
    strong.textContent = kit.font_family;
    const name = document.createElement("span");
    name.className = "muted";
    name.textContent = ` (${kit.font.filename})`;
    fontLine.append(strong, name);
  } else {
    const none = document.createElement("span");
    none.className = "muted";
    none.textContent = "Cliply's font (DejaVu Sans).";
    fontLine.append(none);
  }
  const logoLine = document.getElementById("logo-current");
  logoLine.replaceChildren();
  if (kit.logo) {
    const img = document.createElement("img");
    img.id = "logo-thumb";
    img.alt = "Your logo";
    img.height = 40;
    img.src = `/api/v1/brand/logo?v=${Date.now()}`;
    const info = document.createElement("span");
    info.className = "muted";
    info.textContent = ` ${kit.logo.filename} · ${kit.logo_width}×${kit.logo_height}`;
    logoLine.append(img, info);
    logo.src = img.src;
    logo.hidden = false;
  } else {
    logoLine.textContent = "No logo.";
    logo.hidden = true;
    logo.removeAttribute("src");
  }
  for (const [kind, label] of [["intro", "Intro"], ["outro", "Outro"]]) {
    const line = document.getElementById(`${kind}-current`);
    const f = kit[kind];
    line.textContent = f ? `${label}: ${f.filename} (${kit[`${kind}_duration_s`].toFixed(1)} s)` : `${label}: none`;
  }
  for (const btn of document.querySelectorAll("[data-remove]")) btn.hidden = !kit[btn.dataset.remove];
  draw();
}

async function upload(input) {
  const kind = input.dataset.upload;
  const file = input.files && input.files[0];
  if (!file) return;
  clearError(input);
  const body = new FormData();
  body.append("file", file, file.name);
  input.disabled = true;
  try {
    const r = await fetch(`/api/v1/brand/${kind}`, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
    });
    if (!r.ok) throw new ApiError(r.status, await problemOf(r));
    kit = await r.json();
    showKit();
    if (kind === "font") await loadFont();
    toast(`The ${kind} is saved.`);
  } catch (err) {
    showError(input, err.message);
  } finally {
    input.disabled = false;
    input.value = "";
  }
}

async function remove(button) {
  const kind = button.dataset.remove;
  try {
    kit = await api(`brand/${kind}`, { method: "DELETE" });
    showKit();
    if (kind === "font") await loadFont();
  } catch (err) {
    showError(button, err.message);
  }
}

for (const name of COLORS) {
  const use = document.querySelector(`[data-use="${name}"]`);
  use.addEventListener("change", () => {
    field(name).disabled = !use.checked || !canEdit;
    draw();
  });
  if (!canEdit) field(name).disabled = true;
}
form.addEventListener("input", draw);
form.addEventListener("change", draw);
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(form);
  const saved = document.getElementById("brand-saved");
  saved.textContent = "";
  try {
    kit = await api("brand", { method: "PUT", json: draft() });
    showKit();
    saved.textContent = "Saved.";
  } catch (err) {
    showError(document.getElementById("brand-save"), err.message);
  }
});
for (const input of document.querySelectorAll("[data-upload]")) {
  input.addEventListener("change", () => upload(input));
}
for (const button of document.querySelectorAll("[data-remove]")) {
  button.addEventListener("click", () => remove(button));
}
window.addEventListener("resize", draw);
draw();
loadFont().then(() => {
  root.dataset.ready = "true";
});
