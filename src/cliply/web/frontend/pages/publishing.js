// Accounts and posts pages: their stylesheet, and times shown in the viewer's own zone too.
import "./publishing.css";

for (const t of document.querySelectorAll("time[data-local]")) {
  const d = new Date(t.getAttribute("datetime"));
  if (!Number.isNaN(d.getTime())) {
    t.title = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
}
