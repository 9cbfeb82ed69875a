// Product catalog: CSV import (check first: a preview of every row, or each row's errors;
// then import the same text) and Shopify import, both through the JSON API.
import { api, clearError, messageOf, showError } from "../lib/api.js";

const el = (tag, attrs = {}, text = "") => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
};

function table(head, rows, id) {
  const wrap = el("div", { class: "table-wrap" });
  const t = el("table", { id });
  const tr = el("tr");
  for (const h of head) tr.append(el("th", { scope: "col" }, h));
  const thead = el("thead");
  thead.append(tr);
  t.append(thead);
  const body = el("tbody");
  for (const r of rows) {
    const row = el("tr");
    r.forEach((c, i) => row.append(i === 0 ? el("th", { scope: "row" }, String(c)) : el("td", {}, String(c))));
    body.append(row);
  }
  t.append(body);
  wrap.append(t);
  return wrap;
}

const price = (c) => (c === null || c === undefined ? "—" : (c / 100).toFixed(2));

const csvForm = document.getElementById("csv-form");
if (csvForm) {
  const file = document.getElementById("csv-file");
  const text = document.getElementById("csv-text");
  const importBtn = document.getElementById("csv-import");
  const out = document.getElementById("csv-result");
  let checked = null; // the CSV text the preview was made of

  const source = async () => (file.files && file.files[0] ? await file.files[0].text() : text.value);
  const reset = () => { checked = null; importBtn.disabled = true; out.replaceChildren(); };
  file.addEventListener("change", reset);
  text.addEventListener("input", reset);

  csvForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearError(csvForm);
    reset();
    const csv = await source();
    if (!csv.trim()) return showError(csvForm, "Choose a CSV file or paste its text.");
    try {
      const res = await api("/api/v1/products/import/csv", { method: "POST", json: { csv, dry_run: true } });
      if (!res.ok) {
        out.append(el("p", { class: "field-error", role: "alert", id: "csv-errors-title" },
          `${new Set(res.errors.map((x) => x.row)).size} row(s) need fixing; nothing will be imported until they do.`));
        out.append(table(["Line", "Column", "Problem"], res.errors.map((x) => [x.row, x.column || "—", x.message]), "csv-errors"));
        return;
      }
      checked = csv;
      out.append(el("p", { role: "status", id: "csv-summary" },
        `Ready: ${res.created} new, ${res.updated} updated.` +
        (res.ignored_columns.length ? ` Ignored columns: ${res.ignored_columns.join(", ")}.` : "")));
      out.append(table(["Line", "Name", "Action", "Price", "Stock"],
        res.rows.map((r) => [r.row, r.name, r.action, `${price(r.price_cents)} ${r.currency}`, r.in_stock ? "in stock" : "out of stock"]),
        "csv-preview"));
      importBtn.textContent = `Import ${res.rows.length} product${res.rows.length === 1 ? "" : "s"}`;
      importBtn.disabled = false;
    } catch (err) {
      showError(csvForm, err.problem ? messageOf(err.problem) : err.message);
    }
  });

  importBtn.addEventListener("click", async () => {
    if (checked === null) return;
    importBtn.disabled = true;
    try {
      const res = await api("/api/v1/products/import/csv", { method: "POST", json: { csv: checked } });
      window.location.assign(`/products?imported=csv&created=${res.created}&updated=${res.updated}`);
    } catch (err) {
      importBtn.disabled = false;
      const rows = err.problem?.row_errors;
      showError(importBtn, rows ? `${err.message} (${rows.length} problem(s))` : err.message);
    }
  });
}

const shopForm = document.getElementById("shopify-form");
if (shopForm) {
  shopForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearError(shopForm);
    const button = document.getElementById("shop-import");
    const store_url = document.getElementById("shop-url").value.trim();
    const currency = (document.getElementById("shop-currency").value || "USD").trim().toUpperCase();
    if (!store_url) return showError(shopForm, "Enter the store's address.");
    button.disabled = true;
    button.textContent = "Importing…";
    try {
      const res = await api("/api/v1/products/import/shopify", { method: "POST", json: { store_url, currency } });
      window.location.assign(`/products?imported=shopify&created=${res.created}&updated=${res.updated}`);
    } catch (err) {
      button.disabled = false;
      button.textContent = "Import store";
      showError(shopForm, err.problem ? messageOf(err.problem) : err.message);
    }
  });
}
