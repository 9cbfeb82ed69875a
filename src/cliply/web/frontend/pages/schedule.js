// Schedule one clip or many: accounts, a time zone, times or "one a day at 18:00", then the
// fields each platform asks for, built from GET /accounts/{id}/post-form (for TikTok these
// come from the creator's own settings; no audience is pre-selected). One POST
// /schedules/batch; errors are shown next to the field they are about.
import { api, showError, clearError, messageOf } from "../lib/api.js";
import "./schedule.css";

const form = document.getElementById("schedule-form");
const NAMES = { tiktok: "TikTok", youtube: "YouTube", instagram: "Instagram", facebook: "Facebook" };
const forms = new Map(); // account id -> post form
const shown = new Map(); // platform -> the field specs on the form
const $ = (id) => document.getElementById(id);

function checked(name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)];
}

// --- time zone -------------------------------------------------------------------------------

function fillZones() {
  const sel = $("f-timezone");
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  let zones = ["UTC"];
  try { zones = Intl.supportedValuesOf("timeZone"); } catch { /* old browser: UTC only */ }
  if (!zones.includes("UTC")) zones.unshift("UTC");
  sel.replaceChildren(...zones.map((z) => new Option(z.replaceAll("_", " "), z, z === here, z === here)));
}

// --- when ----------------------------------------------------------------------------------------

function whenMode() {
  return form.querySelector('input[name="when"]:checked').value;
}

function renderWhen() {
  const mode = whenMode();
  $("when-spread").hidden = mode !== "spread";
  const box = $("when-times");
  box.hidden = mode !== "times";
  if (mode !== "times") return;
  const keep = new Map([...box.querySelectorAll("input")].map((i) => [i.dataset.clip, i.value]));
  const tomorrow = new Date(Date.now() + 86400000);
  tomorrow.setHours(18, 0, 0, 0);
  const dflt = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  box.replaceChildren(...checked("clip").map((c, i) => {
    const div = document.createElement("div");
    div.className = "field";
    const id = `f-time-${i}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `Time for “${c.dataset.title || "clip"}”`;
    const input = document.createElement("input");
    input.type = "datetime-local";
    input.id = id;
    input.dataset.clip = c.value;
    input.dataset.field = `times.${i}`;
    input.value = keep.get(c.value) || dflt;
    div.append(label, input);
    return div;
  }));
}

// --- platform fields -------------------------------------------------------------------------------

async function loadForm(box) {
  const id = box.value;
  if (forms.has(id)) return forms.get(id);
  const res = await api(`accounts/${id}/post-form`);
  forms.set(id, res);
  return res;
}

function fieldEl(platform, spec, value) {
  const id = `f-${platform}-${spec.name}`;
  const wrap = document.createElement(spec.kind === "choice" ? "fieldset" : "div");
  wrap.className = spec.kind === "choice" ? "choice" : spec.kind === "bool" ? "field check" : "field";
  wrap.dataset.field = `${platform}.${spec.name}`;
  wrap.setAttribute("data-error-host", ""); // errors about this field show inside it
  const hint = spec.help ? Object.assign(document.createElement("p"), { className: "hint", id: `${id}-hint`, textContent: spec.help }) : null;
  if (spec.kind === "choice") {
    const legend = document.createElement("legend");
    legend.textContent = spec.label + (spec.required ? " (required)" : "");
    wrap.append(legend);
    if (!spec.choices.length) {
      wrap.append(Object.assign(document.createElement("p"), { className: "error-text", textContent: "This account offers no choice here right now." }));
    }
    for (const c of spec.choices) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: `${platform}.${spec.name}`, value: c.value });
      if (value === c.value) input.checked = true; // only a choice the user made before
      label.append(input, ` ${c.label}`);
      wrap.append(label);
    }
  } else if (spec.kind === "bool") {
    const input = Object.assign(document.createElement("input"), { type: "checkbox", id, name: `${platform}.${spec.name}` });
    input.checked = spec.disabled ? !!spec.forced : value !== undefined ? value : !!spec.default;
    input.disabled = spec.disabled;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: spec.label });
    wrap.append(input, label);
  } else {
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: spec.label + (spec.required ? " (required)" : "") });
    const input = document.createElement(spec.kind === "textarea" ? "textarea" : "input");
    Object.assign(input, { id, name: `${platform}.${spec.name}` });
    if (spec.kind === "textarea") input.rows = 3;
    else input.type = "text";
    if (spec.max_length) input.maxLength = spec.max_length;
    if (value !== undefined) input.value = value;
    wrap.append(label, input);
  }
  if (hint) {
    wrap.append(hint);
    wrap.querySelector("input, textarea")?.setAttribute("aria-describedby", hint.id);
  }
  return wrap;
}

function merge(specsList) {
  // Several accounts of one platform: a choice offers what all of them allow; a switch one
  // of them has off is off for all.
  const out = specsList[0].map((s) => ({ ...s, choices: s.choices ? [...s.choices] : null }));
  for (const specs of specsList.slice(1)) {
    for (const s of out) {
      const other = specs.find((x) => x.name === s.name);
      if (!other) continue;
      if (s.choices) s.choices = s.choices.filter((c) => other.choices.some((o) => o.value === c.value));
      if (other.disabled) Object.assign(s, { disabled: true, forced: other.forced, help: other.help });
    }
  }
  return out;
}

function currentValues() {
  const values = {};
  for (const el of $("platform-fields").querySelectorAll("input, textarea")) {
    if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
    else if (el.type === "checkbox") values[el.name] = el.checked;
    else values[el.name] = el.value;
  }
  return values;
}

async function renderPlatforms() {
  const host = $("platform-fields");
  const values = currentValues();
  const byPlatform = new Map();
  for (const box of checked("account")) {
    clearError(box);
    try {
      const pf = await loadForm(box);
      if (!pf.usable) {
        showError(box.closest("label"), pf.problem || "This account cannot post right now.");
        box.checked = false;
        continue;
      }
      if (!byPlatform.has(pf.platform)) byPlatform.set(pf.platform, []);
      byPlatform.get(pf.platform).push(pf);
    } catch (err) {
      showError(box.closest("label"), err.message);
      box.checked = false;
    }
  }
  const sections = [];
  let n = 4;
  for (const [platform, pfs] of byPlatform) {
    const sec = document.createElement("fieldset");
    sec.id = `fields-${platform}`;
    sec.className = "platform";
    sec.dataset.field = platform;
    sec.setAttribute("data-error-host", "");
    const legend = document.createElement("legend");
    legend.textContent = `${n++}. ${NAMES[platform] || platform}: ${pfs.map((p) => p.display_name).join(", ")}`;
    sec.append(legend);
    for (const spec of merge(pfs.map((p) => p.fields))) {
      sec.append(fieldEl(platform, spec, values[`${platform}.${spec.name}`]));
    }
    const limits = pfs.map((p) => p.max_duration_s).filter(Boolean);
    if (limits.length) {
      sec.append(Object.assign(document.createElement("p"), { className: "hint", textContent: `Videos up to ${Math.min(...limits)} s on this account.` }));
    }
    if (platform === "tiktok") {
      sec.append(Object.assign(document.createElement("p"), {
        className: "hint",
        textContent: "By posting, you agree to TikTok's Music Usage Confirmation. Posts may take a few minutes to appear on the profile.",
      }));
    }
    sections.push(sec);
  }
  shown.clear();
  for (const [platform, pfs] of byPlatform) shown.set(platform, merge(pfs.map((p) => p.fields)));
  host.replaceChildren(...sections);
  updateCount();
}

function updateCount() {
  const n = checked("clip").length * checked("account").length;
  $("schedule-count").textContent = n ? `${n} post${n === 1 ? "" : "s"}` : "Pick at least one clip and one account.";
  $("schedule-submit").textContent = whenMode() === "now" ? `Post ${n || ""} now` : `Schedule ${n || ""} post${n === 1 ? "" : "s"}`;
}

// --- submit --------------------------------------------------------------------------------------------

function val(name) {
  const el = form.querySelector(`[name="${name}"]`);
  if (!el) return undefined;
  if (el.type === "radio") return form.querySelector(`[name="${name}"]:checked`)?.value;
  if (el.type === "checkbox") return el.checked;
  return el.value;
}

function body() {
  const clips = checked("clip").map((c) => c.value);
  const accounts = checked("account");
  const b = { clip_ids: clips, account_ids: accounts.map((a) => a.value), timezone: $("f-timezone").value, fields: {} };
  const mode = whenMode();
  if (mode === "spread") {
    b.spread = { at: $("f-spread-at").value || "18:00", every_days: Number($("f-spread-every").value || 1) };
    if ($("f-spread-start").value) b.spread.start_date = $("f-spread-start").value;
  } else if (mode === "times") {
    b.times = [...$("when-times").querySelectorAll("input")].map((i) => i.value);
  }
  for (const [platform, specs] of shown) {
    const values = {};
    for (const spec of specs) {
      const v = val(`${platform}.${spec.name}`);
      if (spec.kind === "tags") {
        const tags = (v || "").split(",").map((t) => t.trim()).filter(Boolean);
        if (tags.length) values[spec.name] = tags;
      } else if (spec.kind === "bool") {
        values[spec.name] = !!v;
      } else if (v !== undefined && v !== null && v !== "") {
        values[spec.name] = v;
      }
    }
    b.fields[platform] = values;
  }
  return b;
}

function missingFields() {
  // Every required field left empty, to point at before sending anything.
  const out = [];
  for (const [platform, specs] of shown) {
    for (const spec of specs) {
      if (!spec.required) continue;
      const v = val(`${platform}.${spec.name}`);
      if (v === undefined || v === null || v === "") out.push([platform, spec]);
    }
  }
  return out;
}

function target(problem) {
  const code = (problem.type || "").split("/").pop();
  const byCode = {
    "privacy-not-allowed": `${problem.platform}.privacy`,
    "privacy-not-supported": `${problem.platform}.privacy`,
    "title-required": `${problem.platform}.title`,
    "title-too-long": `${problem.platform}.title`,
    "invalid-title": `${problem.platform}.title`,
    "invalid-timezone": "timezone",
    "schedule-in-past": "when",
    "account-unusable": "account_ids",
    "clip-not-rendered": "clip_ids",
    "platform-fields-required": `${problem.platform}.${(problem.fields || ["privacy"])[0]}`,
  };
  let field = byCode[code];
  if (!field && problem.errors && problem.errors.length) {
    field = problem.errors[0].loc.filter((x) => x !== "body").join(".");
  }
  while (field) {
    const el = form.querySelector(`[data-field="${field}"]`);
    if (el) return el;
    field = field.includes(".") ? field.slice(0, field.lastIndexOf(".")) : null;
  }
  return $("schedule-submit");
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  form.querySelectorAll(".js-error").forEach((x) => x.remove());
  const b = body();
  if (!b.clip_ids.length) return showError($("clips-set"), "Pick at least one clip.");
  if (!b.account_ids.length) return showError($("accounts-set"), "Pick at least one account.");
  const gaps = missingFields();
  for (const [platform, spec] of gaps) {
    showError(form.querySelector(`[data-field="${platform}.${spec.name}"]`), `${spec.kind === "choice" ? "Choose" : "Fill in"}: ${spec.label}.`);
  }
  if (gaps.length) {
    form.querySelector(".js-error")?.scrollIntoView({ block: "center" });
    return;
  }
  const btn = $("schedule-submit");
  btn.disabled = true;
  try {
    const rows = await api("schedules/batch", { method: "POST", json: b });
    window.location.assign(`/posts?show=all&scheduled=${rows.length}`);
  } catch (err) {
    const el = target(err.problem || {});
    showError(el, messageOf(err.problem || { detail: err.message }));
    el.scrollIntoView({ block: "center" });
  } finally {
    btn.disabled = false;
  }
});

form.addEventListener("change", (e) => {
  const t = e.target;
  if (t.name === "account") renderPlatforms();
  if (t.name === "when" || t.name === "clip") renderWhen();
  updateCount();
});

fillZones();
renderWhen();
renderPlatforms();
