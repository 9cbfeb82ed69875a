// The posting calendar (week / month, @fullcalendar) over GET /api/v1/schedules.
import { Calendar } from "@fullcalendar/core";
import dayGridPlugin from "@fullcalendar/daygrid";
import timeGridPlugin from "@fullcalendar/timegrid";
import { api, showError } from "../lib/api.js";
import "./calendar.css";

const COLORS = {
  scheduled: "#2563eb", queued: "#7c3aed", publishing: "#7c3aed",
  published: "#15803d", failed: "#b91c1c", cancelled: "#6b7280",
};
const NAMES = { tiktok: "TikTok", youtube: "YouTube", instagram: "Instagram", facebook: "Facebook" };

async function allSchedules() {
  const items = [];
  let cursor = null;
  for (let i = 0; i < 20; i++) {
    const page = await api(`schedules?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

async function start() {
  const el = document.getElementById("calendar");
  const phone = window.matchMedia("(max-width: 600px)").matches;
  let items = [];
  try {
    items = (await allSchedules()).filter((s) => s.status !== "cancelled");
  } catch (err) {
    showError(el, `The schedule could not be loaded: ${err.message}`);
    return;
  }
  document.getElementById("calendar-empty").hidden = items.length > 0;
  const cal = new Calendar(el, {
    plugins: [dayGridPlugin, timeGridPlugin],
    initialView: phone ? "timeGridDay" : "dayGridMonth",
    headerToolbar: { left: "prev,next today", center: "title", right: phone ? "timeGridDay,timeGridWeek" : "dayGridMonth,timeGridWeek" },
    height: "auto",
    // Text buttons: FullCalendar's icon font is a data: URL (blocked by the CSP) and its
    // icon spans carry no text alternative.
    buttonIcons: false,
    buttonText: { prev: "‹ Previous", next: "Next ›", today: "Today", month: "Month", week: "Week", day: "Day" },
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    events: items.map((s) => ({
      id: s.id,
      title: `${NAMES[s.platform] || s.platform}: ${s.title || "clip"} (${s.status})`,
      start: s.scheduled_at,
      url: `/posts?show=all#schedule-${s.id}`,
      backgroundColor: COLORS[s.status] || "#2563eb",
      borderColor: COLORS[s.status] || "#2563eb",
    })),
  });
  cal.render();
  // First scheduled post in view, so an empty month does not hide what is coming.
  const next = items.map((s) => s.scheduled_at).sort()[0];
  if (next && new Date(next) > new Date()) cal.gotoDate(next);
}

start();
