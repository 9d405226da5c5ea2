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
