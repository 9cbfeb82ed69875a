// fetch() for the JSON API from a page: same-origin cookie session + the CSRF header.
// Errors become ApiError with the problem+json fields (status, code, detail, ...).

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.status = status;
    this.problem = problem;
    this.code = (problem.type || "").split("/").pop();
  }
}

export async function problemOf(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = { title: response.statusText || "Request failed" };
  }
  return problem;
}

export async function api(path, { method = "GET", json, headers = {}, ...rest } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (method !== "GET" && method !== "HEAD") h["X-CSRF-Token"] = csrfToken();
  let body = rest.body;
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const url = path.startsWith("/") || /^https?:/.test(path) ? path : `/api/v1/${path}`;
  const r = await fetch(url, {
    method, headers: h, body, credentials: "same-origin", ...rest,
  });
  if (!r.ok) {
    const err = new ApiError(r.status, await problemOf(r));
    if (r.status === 402) showLimit(err.problem);
    throw err;
  }
  if (r.status === 204) return null;
  return (r.headers.get("content-type") || "").includes("json") ? r.json() : r;
}

// --- showing errors next to what caused them ----------------------------------------------

export function showError(anchor, message) {
  clearError(anchor);
  if (!anchor) return toast(message, true);
  const p = document.createElement("p");
  p.className = "field-error js-error";
  p.setAttribute("role", "alert");
  p.textContent = message;
  const host = anchor.closest("[data-error-host]") || anchor;
  if (host.tagName === "FORM" || host.hasAttribute("data-error-host") || host.classList.contains("field")) host.append(p);
  else host.insertAdjacentElement("afterend", p);
}

export function clearError(anchor) {
  if (!anchor) return;
  const host = anchor.closest("[data-error-host]") || anchor;
  const scope = host.tagName === "FORM" || host.hasAttribute("data-error-host") || host.classList.contains("field") ? host : host.parentElement;
  scope?.querySelectorAll(":scope > .js-error").forEach((e) => e.remove());
}

export function messageOf(problem) {
  if (problem.errors && problem.errors.length) {
    return problem.errors.map((e) => `${(e.loc || []).slice(-1)[0] || "value"}: ${e.msg}`).join("; ");
  }
  return problem.detail || problem.title || "Something went wrong.";
}

let toastTimer;
export function toast(message, isError = false) {
  const t = document.getElementById("toast");
  if (!t) return;
  t.textContent = message;
  t.className = isError ? "show error" : "show";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.className = ""), 5000);
}

// --- 402: the plan limit dialog -----------------------------------------------------------

const PLAN_NAMES = { basic: "Basic", pro: "Pro", premium: "Premium" };

export function showLimit(problem) {
  const dlg = document.getElementById("limit-dialog");
  if (!dlg) return;
  dlg.querySelector("#limit-detail").textContent = problem.detail || "This needs a bigger plan.";
  const plan = problem.upgrade_to || problem.required_plan || problem.plan_needed;
  dlg.querySelector("#limit-plan").textContent = plan
    ? `The ${PLAN_NAMES[plan] || plan} plan lifts this limit.`
    : "A bigger plan lifts this limit.";
  const link = dlg.querySelector("#limit-upgrade");
  link.href = plan ? `/billing?upgrade=${encodeURIComponent(plan)}` : "/billing";
  if (!dlg.open) dlg.showModal();
}

// --- <form data-api="/api/v1/..." [data-method="PATCH"] [data-then="/projects/{id}"]> ---------
// [data-redirect-field="url"]: go to the URL the API answered with (Stripe Checkout, portal).
// Sends the form as JSON to the API (dotted names nest: options.min_s), shows 422 errors
// next to the matching fields and other errors under the form; on success follows
// data-then with {field} filled from the response, or reloads.

function formJson(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.name === "csrf_token" || el.disabled) continue;
    if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
    let v = el.type === "checkbox" && el.value === "on" ? true : el.value;
    if (v === "") continue;
    if (el.type === "number" || el.dataset.type === "number") v = Number(v);
    const parts = el.name.split(".");
    let o = out;
    for (const p of parts.slice(0, -1)) o = o[p] ??= {};
    const last = parts[parts.length - 1];
    if (el.dataset.multiple !== undefined) (o[last] ??= []).push(v); else o[last] = v;
  }
  return out;
}

export function fieldFor(form, loc) {
  const names = [loc.slice(1).join("."), loc.slice(-1)[0], loc.slice(-2).join(".")];
  for (const n of names) {
    const el = n && form.querySelector(`[name="${CSS.escape(n)}"]`);
    if (el) return el;
  }
  return null;
}

export function showProblem(form, err) {
  form.querySelectorAll(".js-error").forEach((e) => e.remove());
  const errors = err.problem?.errors || [];
  let placed = false;
  for (const e of errors) {
    const el = fieldFor(form, e.loc || []);
    if (el) {
      el.setAttribute("aria-invalid", "true");
      showError(el.closest(".field") || el, e.msg.replace(/^Value error, /, ""));
      placed = true;
    }
  }
  if (!placed) showError(form.querySelector("[data-error-here]") || form, err.message);
}

document.addEventListener("submit", async (e) => {
  const form = e.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
  e.preventDefault();
  const button = form.querySelector("[type=submit]");
  if (button) button.disabled = true;
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  try {
    const res = await api(form.dataset.api, { method: form.dataset.method || "POST", json: formJson(form) });
    const then = form.dataset.then;
    const field = form.dataset.redirectField; // e.g. a Stripe Checkout URL in the response
    if (field && res?.[field]) window.location.assign(res[field]);
    else if (then) window.location.assign(then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(res?.[k] ?? "")));
    else window.location.reload();
  } catch (err) {
    showProblem(form, err);
  } finally {
    if (button) button.disabled = false;
  }
});
