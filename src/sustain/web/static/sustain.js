// The browser pages of sustain serve: a run's live progress, cancelling it, new table rows.
"use strict";

function followRun(el) {
  const id = el.dataset.run;
  const state = document.getElementById("state");
  const bar = document.getElementById("progress");
  const cancel = document.getElementById("cancel");
  if (cancel) {
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      await fetch(`/api/jobs/${id}`, { method: "DELETE" });
      location.reload();
    });
  }
  let wait = 100;
  async function look() {
    const answer = await fetch(`/api/jobs/${id}`);
    if (!answer.ok) { return; }
    const run = await answer.json();
    let text = run.status;
    if (run.progress) {
      text += ` (${run.progress.done} of ${run.progress.total})`;
      if (bar) { bar.max = run.progress.total; bar.value = run.progress.done; }
    }
    state.textContent = text;
    if (run.status === "queued" || run.status === "running") {
      // Soon at first (most runs take a second or two), then every half second.
      wait = Math.min(wait * 1.5, 500);
      setTimeout(look, wait);
    } else {
      location.reload();
    }
  }
  if (el.dataset.status === "queued" || el.dataset.status === "running") { look(); }
}

function addRow(button) {
  const table = document.querySelector(`table.edit[data-table="${button.dataset.table}"]`);
  const body = table.tBodies[0];
  const columns = JSON.parse(table.dataset.columns);
  const n = body.rows.length;
  const row = body.insertRow();
  row.insertCell().textContent = String(n + 1);
  for (const c of columns) {
    const input = document.createElement("input");
    input.name = `c|${button.dataset.table}|${n}|${c}`;
    input.setAttribute("aria-label", `${button.dataset.table} row ${n + 1} ${c}`);
    row.insertCell().appendChild(input);
  }
  const del = document.createElement("input");
  del.type = "checkbox";
  del.name = `d|${button.dataset.table}|${n}`;
  row.insertCell().appendChild(del);
}

document.addEventListener("DOMContentLoaded", () => {
  const run = document.getElementById("run");
  if (run) { followRun(run); }
  for (const b of document.querySelectorAll("button.add-row")) {
    b.addEventListener("click", () => addRow(b));
  }
});
