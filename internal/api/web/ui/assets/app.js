// govs dashboard: polls /api/v1/status and redraws. No dependencies; every value from
// the daemon goes into the page as text, never as markup.
"use strict";

const params = new URLSearchParams(location.search);
const refreshMs = Math.max(200, Number(params.get("refresh")) || 1000);
const historyLen = 60; // samples kept per sparkline
const history = new Map(); // key -> {cps: [], inbps: [], outbps: []}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "title") e.title = v;
    else if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function bytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
}

function clock(iso) {
  const d = new Date(iso);
  return isNaN(d) || d.getFullYear() < 2000 ? "never" : d.toLocaleTimeString();
}

function record(key, rates) {
  let h = history.get(key);
  if (!h) { h = { cps: [], inbps: [], outbps: [] }; history.set(key, h); }
  for (const [name, v] of [["cps", rates.cps], ["inbps", rates.in_bps], ["outbps", rates.out_bps]]) {
    h[name].push(v || 0);
    if (h[name].length > historyLen) h[name].shift();
  }
  return h;
}

function spark(values, color) {
  const c = el("canvas", { class: "spark", width: "120", height: "24" });
  const ctx = c.getContext("2d");
  if (!ctx || values.length === 0) return c;
  const top = Math.max(1, ...values);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  // Newest sample at the right edge, so a fresh page fills in from the right.
  const offset = historyLen - values.length;
  values.forEach((v, i) => {
    const x = ((offset + i) / (historyLen - 1)) * 119;
    const y = 23 - (v / top) * 21;
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  return c;
}

function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

async function admin(action, service, server) {
  try {
    const r = await fetch("api/v1/admin/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ service, server }),
    });
    const body = await r.json().catch(() => ({}));
    toast(r.ok ? `${action}: ${server} now has weight ${body.table_weight}` : `${action} refused: ${body.error || r.status}`);
  } catch (e) {
    toast(`${action} failed: ${e}`);
  }
  tick();
}

function renderVRRP(snap) {
  const box = document.getElementById("vrrp");
  const section = document.getElementById("vrrp-section");
  section.hidden = snap.vrrp.length === 0;
  const masters = snap.vrrp.filter((i) => i.state === "MASTER");
  document.getElementById("masters").textContent = masters.length
    ? `${snap.node} is MASTER for ` + masters.map((i) => `${i.vips.join(", ")} (${i.name})`).join("; ")
    : `${snap.node} is master for no VIP`;
  box.replaceChildren(...snap.vrrp.map((i) => el("div", { class: "card vrrp-card", "data-instance": i.name, "data-state": i.state },
    el("div", null, el("span", { class: "name" }, i.name), " ", el("span", { class: "badge state-" + i.state }, i.state)),
    el("div", null, `VIPs: ${i.vips.join(", ") || "none"}`),
    el("div", null, `priority ${i.priority}` + (i.effective_priority !== i.priority ? ` (effective ${i.effective_priority})` : "")),
    el("div", null, "master: " + (i.master ? `${i.master} (priority ${i.master_priority})` : "unknown")),
    el("div", { class: "empty" }, `${i.interface} vrid ${i.vrid} v${i.version} · ${i.transitions} transitions · ${i.adverts_sent} sent / ${i.adverts_received} received`),
    i.faults && i.faults.length ? el("div", { class: "quorum-lost" }, "fault: " + i.faults.join(", ")) : null,
  )));
}

function checks(rs) {
  if (!rs.checkers || rs.checkers.length === 0) return "no checker";
  return rs.checkers.map((c) => {
    if (!c.last_at || c.last_at.startsWith("0001")) return `${c.name} pending`;
    const ms = (c.last_latency_seconds * 1000).toFixed(1) + " ms";
    return c.last_ok ? `${c.name} ok ${ms}` : `${c.name} failed${c.failures > 1 ? " ×" + c.failures : ""}: ${c.last_error}`;
  }).join("; ");
}

function renderServices(snap) {
  const box = document.getElementById("services");
  if (snap.services.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "no virtual services"));
    return;
  }
  box.replaceChildren(...snap.services.map((svc) => {
    const h = record(svc.key, svc.rates);
    const up = svc.real_servers.filter((r) => r.health === "up").length;
    const head = el("div", { class: "service-head" },
      el("span", { class: "key" }, svc.key),
      el("span", null, svc.scheduler),
      el("span", { class: svc.quorum ? "quorum-up" : "quorum-lost" }, svc.quorum ? "quorum up" : "QUORUM LOST"),
      el("span", null, `${up}/${svc.real_servers.length} servers up`),
      el("span", null, `${svc.active_conns} active, ${svc.inactive_conns} inactive`),
      el("span", { class: "chart" }, spark(h.cps, "#2b5fb4"), `${svc.rates.cps} conn/s`),
      el("span", { class: "chart" }, spark(h.inbps, "#1f9d55"), `in ${bytes(svc.rates.in_bps)}/s`),
      el("span", { class: "chart" }, spark(h.outbps, "#b7791f"), `out ${bytes(svc.rates.out_bps)}/s`),
    );
    const rows = svc.real_servers.map((rs) => {
      const rh = record(svc.key + "|" + rs.address, rs.rates);
      const weight = rs.table_weight < 0 ? `– / ${rs.weight}` : rs.table_weight === rs.weight ? String(rs.weight) : `${rs.table_weight} / ${rs.weight}`;
      return el("tr", { class: "rs-" + rs.health, "data-service": svc.key, "data-server": rs.address, "data-health": rs.health, title: rs.reason ? `${rs.health} since ${clock(rs.since)}: ${rs.reason}` : "" },
        el("td", null, rs.address),
        el("td", { class: "health" }, rs.health === "down" ? "DOWN" : rs.health),
        el("td", { class: "num" }, weight),
        el("td", { class: "num" }, rs.active_conns),
        el("td", { class: "num" }, rs.inactive_conns),
        el("td", { class: "num" }, rs.counters.conns),
        el("td", null, el("span", { class: "chart" }, spark(rh.cps, "#2b5fb4"), String(rs.rates.cps))),
        el("td", { class: "num" }, `in ${bytes(rs.rates.in_bps)}/s · out ${bytes(rs.rates.out_bps)}/s`),
        el("td", { class: "checks" }, checks(rs)),
        el("td", null,
          rs.table_weight > 0 ? el("button", { onclick: () => admin("drain", svc.key, rs.address) }, "drain") : null,
          rs.table_weight === 0 ? el("button", { onclick: () => admin("enable", svc.key, rs.address) }, "enable") : null),
      );
    });
    const table = el("table", null,
      el("thead", null, el("tr", null, ...["real server", "health", "weight", "active", "inactive", "conns", "conn/s", "traffic", "checks", ""].map((t) => el("th", null, t)))),
      el("tbody", null, ...rows));
    return el("div", { class: "card service", "data-service": svc.key }, head, table);
  }));
}

const badKinds = new Set(["rs-down", "quorum-down", "check-failed"]);
const goodKinds = new Set(["rs-up", "quorum-up"]);

function renderEvents(snap) {
  const box = document.getElementById("events");
  const evs = snap.events.slice(-30).reverse();
  if (evs.length === 0) {
    box.replaceChildren(el("li", { class: "empty" }, "nothing yet"));
    return;
  }
  box.replaceChildren(...evs.map((e) => el("li", { class: badKinds.has(e.kind) ? "ev-bad" : goodKinds.has(e.kind) ? "ev-good" : "", "data-kind": e.kind },
    el("span", { class: "at" }, clock(e.at)),
    el("span", { class: "kind" }, e.kind),
    [e.instance, e.service, e.server].filter(Boolean).join(" "), " ", e.message)));
}

async function tick() {
  const conn = document.getElementById("conn");
  try {
    const r = await fetch("api/v1/status", { cache: "no-store" });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.error || `HTTP ${r.status}`);
    }
    const snap = await r.json();
    document.getElementById("node").textContent = `${snap.node} · govs ${snap.version}`;
    renderVRRP(snap);
    renderServices(snap);
    renderEvents(snap);
    conn.className = "conn ok";
    conn.textContent = "live · " + clock(snap.time);
    document.body.dataset.updated = snap.time;
  } catch (e) {
    conn.className = "conn bad";
    conn.textContent = "no answer: " + e.message;
  }
}

tick();
setInterval(tick, refreshMs);
