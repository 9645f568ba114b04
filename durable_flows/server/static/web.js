// The web view's only script: keeps a page live and sends its actions.
// The page names its live URL (body[data-live]) and its fragment
// (#live-body[data-fragment]); each time the live URL says the journal moved
// on, the fragment is fetched again and swapped in. No framework, no build.
"use strict";

const liveBody = () => document.getElementById("live-body");

function setLiveState(text, cls) {
  const el = document.getElementById("live-state");
  if (el) { el.textContent = text; el.className = "live " + cls; }
}

let refreshing = null;
let again = false;

async function refresh() {
  if (refreshing) { again = true; return; }
  const body = liveBody();
  if (!body || !body.dataset.fragment) return;
  const focused = document.activeElement;
  if (focused && body.contains(focused) && (focused.tagName === "INPUT" || focused.tagName === "TEXTAREA")
      && focused.value) {
    again = true;  // do not wipe what someone is typing; refresh when they are done
    setTimeout(refresh, 1000);
    return;
  }
  refreshing = fetch(body.dataset.fragment, { cache: "no-store" })
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.status))))
    .then((html) => { body.innerHTML = html; bind(); })
    .catch(() => {})
    .finally(() => {
      refreshing = null;
      if (again) { again = false; refresh(); }
    });
}

function listen() {
  const url = document.body.dataset.live;
  if (!url || !window.EventSource) return;
  const source = new EventSource(url);
  source.onopen = () => setLiveState("live", "on");
  source.onerror = () => setLiveState("reconnecting…", "off");
  // The first message comes on connecting: refresh then too, since the journal
  // may have moved on between drawing the page and connecting.
  source.onmessage = () => refresh();
}

function say(text, isError) {
  const el = document.getElementById("action-result");
  if (el) { el.textContent = text; el.className = isError ? "error" : ""; }
}

async function post(url, payload) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload || {}),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail || "HTTP " + r.status);
  return data;
}

function runUrl(action) {
  return "/ui/runs/" + encodeURIComponent(liveBody().dataset.run) + "/" + action;
}

function bind() {
  document.querySelectorAll("form.send-form").forEach((form) => {
    form.onsubmit = async (e) => {
      e.preventDefault();
      const response = form.querySelector("input.response");
      const value = response ? { response: response.value } : form.querySelector("textarea").value;
      try {
        await post(runUrl("send"), { type: form.dataset.type, value });
        if (response) response.value = "";
        say("sent: the run takes it in from its inbox", false);
        refresh();
      } catch (err) { say(String(err.message), true); }
    };
  });
  const cancel = document.getElementById("cancel-run");
  if (cancel) cancel.onclick = async () => {
    if (!window.confirm("Cancel this run?")) return;
    try { const d = await post(runUrl("cancel")); say("cancel: " + d.status, false); refresh(); }
    catch (err) { say(String(err.message), true); }
  };
  const fork = document.getElementById("fork-run");
  if (fork) fork.onclick = async () => {
    const at = Number(document.getElementById("fork-at").value);
    try { const d = await post(runUrl("fork"), { at }); window.location.href = d.url; }
    catch (err) { say(String(err.message), true); }
  };
}

document.addEventListener("DOMContentLoaded", () => { bind(); listen(); });
