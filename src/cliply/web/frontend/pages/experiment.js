// An experiment's page: the variants' live numbers from GET /api/v1/experiments/{id} (every
// few seconds while it runs), and the stop / promote buttons.
import { api, showError, messageOf, toast } from "../lib/api.js";
import "./experiments.css";

const root = document.getElementById("experiment");
const id = root.dataset.id;
const REFRESH_MS = 5000;

function fmt(x) {
  return x === null || x === undefined ? "–" : Number(x).toPrecision(4).replace(/\.?0+$/, "");
}

function show(exp) {
  for (const v of exp.variants) {
    const card = root.querySelector(`[data-variant="${v.id}"]`);
    if (!card) continue;
    const set = (name, text) => {
      const el = card.querySelector(`[data-stat="${name}"]`);
      if (el) el.textContent = text;
    };
    const p = (v.stats.p_best || 0) * 100;
    set("p_best", `${p.toFixed(1)} %`);
    card.querySelector("[data-bar]").style.width = `${p.toFixed(1)}%`;
    set("mean", fmt(v.stats.mean));
    set("interval", v.stats.low === null ? "–" : `${fmt(v.stats.low)} – ${fmt(v.stats.high)}`);
    set("views", String(Math.round(v.stats.views || 0)));
    set("posts", String(v.stats.posts || 0));
    const status = card.querySelector('[data-field="clip_status"]');
    if (status && v.clip_status) status.textContent = v.clip_status;
  }
  if (exp.status !== root.dataset.status) window.location.reload(); // ended: winner, buttons
}

async function refresh() {
  try {
    show(await api(`/api/v1/experiments/${id}`));
  } catch {
    /* a missed refresh is retried on the next tick */
  }
}

async function post(path, button, done) {
  button.disabled = true;
  try {
    const result = await api(`/api/v1/experiments/${id}/${path}`, { method: "POST", json: {} });
    done(result);
  } catch (err) {
    button.disabled = false;
    showError(button, err.problem ? messageOf(err.problem) : err.message);
  }
}

const stopButton = document.getElementById("stop-experiment");
if (stopButton) {
  stopButton.addEventListener("click", () => post("stop", stopButton, () => window.location.reload()));
}
const promoteButton = document.getElementById("promote-winner");
if (promoteButton) {
  promoteButton.addEventListener("click", () =>
    post("promote", promoteButton, (r) => {
      const n = r.scheduled.length;
      toast(n ? `The winner is scheduled on ${n} more account${n === 1 ? "" : "s"}.` : "Every account already has the winner.");
      promoteButton.disabled = false;
    }),
  );
}
const scheduleForm = document.getElementById("schedule-experiment");
if (scheduleForm) {
  scheduleForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = scheduleForm.querySelector('button[type="submit"]');
    const accounts = [...scheduleForm.querySelectorAll('input[name="account_ids"]:checked')].map((i) => i.value);
    if (!accounts.length) {
      showError(button, "Tick at least one account.");
      return;
    }
    const json = { account_ids: accounts, mode: scheduleForm.querySelector('input[name="mode"]:checked').value };
    const start = scheduleForm.elements.start_at.value;
    if (start) json.start_at = new Date(start).toISOString();
    button.disabled = true;
    try {
      await api(`/api/v1/experiments/${id}/schedule`, { method: "POST", json });
      window.location.reload();
    } catch (err) {
      button.disabled = false;
      showError(button, err.problem ? messageOf(err.problem) : err.message);
    }
  });
}
if (root.dataset.status !== "ended") window.setInterval(refresh, REFRESH_MS);
