// shopfloor dashboard: the floor's live updates (server-sent events), ticking times, confirmations.
// Hand-written, no dependencies; the server renders every fragment (escaped there), this only swaps it in.
"use strict";

function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const pad = (n) => String(n).padStart(2, "0");
  if (s >= 3600) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
  if (s >= 60) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
  return s + "s";
}

function tick() {
  const now = Date.now() / 1000;
  document.querySelectorAll("[data-since]").forEach((el) => {
    el.textContent = fmtDuration(now - parseFloat(el.dataset.since));
  });
}

function connect(target) {
  const status = document.getElementById("live");
  const source = new EventSource(target.dataset.events);
  source.addEventListener("floor", (e) => {
    target.innerHTML = e.data;
    target.dataset.updates = String((parseInt(target.dataset.updates || "0", 10)) + 1);
    target.dataset.eventId = e.lastEventId;
    tick();
    if (status) { status.textContent = "live"; status.dataset.state = "live"; }
  });
  source.addEventListener("open", () => {
    if (status) { status.textContent = "live"; status.dataset.state = "live"; }
  });
  source.addEventListener("error", () => {
    if (status) { status.textContent = "reconnecting…"; status.dataset.state = "reconnecting"; }
  });
}

document.addEventListener("submit", (e) => {
  const button = e.submitter || e.target.querySelector("[data-confirm]");
  const ask = button && button.dataset ? button.dataset.confirm : null;
  if (ask && !window.confirm(ask)) e.preventDefault();
});

document.addEventListener("DOMContentLoaded", () => {
  const target = document.querySelector("[data-events]");
  if (target && window.EventSource) connect(target);
  tick();
  setInterval(tick, 1000);
  document.querySelectorAll("[data-switch]").forEach((el) => {
    el.addEventListener("change", () => { el.form.submit(); });
  });
});

// The review view: a line's number opens a comment box under it (FILE:LINE rides along as "at").
document.addEventListener("click", (e) => {
  const button = e.target.closest ? e.target.closest("button.comment-line") : null;
  if (!button) return;
  const row = button.closest("tr");
  const next = row.nextElementSibling;
  if (next && next.classList.contains("comment-row")) {
    next.querySelector("textarea").focus();
    return;
  }
  const box = document.createElement("tr");
  box.className = "comment-row";
  box.dataset.testid = "comment-row";
  box.dataset.at = button.dataset.at;
  const cell = document.createElement("td");
  cell.colSpan = 4;
  const at = document.createElement("input");
  at.type = "hidden"; at.name = "at"; at.value = button.dataset.at;
  const text = document.createElement("textarea");
  text.name = "text"; text.rows = 2; text.placeholder = "comment on " + button.dataset.at;
  text.dataset.testid = "comment-input";
  cell.append(at, text);
  box.append(cell);
  row.after(box);
  text.focus();
});
