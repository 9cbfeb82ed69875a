// Clip gallery: selection and the bulk bar (download as zip, schedule, delete).
import { showError } from "../lib/api.js";

const form = document.getElementById("bulk");
if (form) {
  const boxes = () => [...form.querySelectorAll('input[name="clip_ids"]')];
  const chosen = () => boxes().filter((b) => b.checked);
  const count = document.getElementById("bulk-count");
  const buttons = ["bulk-download", "bulk-schedule", "bulk-delete"].map((id) => document.getElementById(id)).filter(Boolean);
  const update = () => {
    const n = chosen().length;
    count.textContent = `${n} selected`;
    for (const b of buttons) b.disabled = n === 0;
  };
  form.addEventListener("change", update);
  document.getElementById("bulk-all").addEventListener("click", () => {
    const all = boxes();
    const on = all.some((b) => !b.checked);
    all.forEach((b) => (b.checked = on));
    update();
  });
  document.getElementById("bulk-download").addEventListener("click", (e) => {
    const ready = chosen().filter((b) => !b.hasAttribute("data-unrendered"));
    if (!ready.length) return showError(e.currentTarget, "None of the selected clips is rendered yet.");
    window.location.assign(`/projects/${form.dataset.project}/clips.zip?ids=${ready.map((b) => b.value).join(",")}`);
  });
  document.getElementById("bulk-schedule")?.addEventListener("click", () => {
    window.location.assign(`/schedule?clips=${chosen().map((b) => b.value).join(",")}`);
  });
  // Only one clip plays at a time.
  form.addEventListener("play", (e) => {
    for (const v of form.querySelectorAll("video")) if (v !== e.target) v.pause();
  }, true);
  update();
}
