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
  const r = await fetch(path.startsWith("/") ? path : `/api/v1/${path}`, {
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
  if (host.tagName === "FORM" || host.hasAttribute("data-error-host")) host.append(p);
  else host.insertAdjacentElement("afterend", p);
}

export function clearError(anchor) {
  if (!anchor) return;
  const host = anchor.closest("[data-error-host]") || anchor;
  const scope = host.tagName === "FORM" || host.hasAttribute("data-error-host") ? host : host.parentElement;
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
