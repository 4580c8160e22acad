// The playground page: plain JavaScript, no libraries, nothing loaded from
// elsewhere. Every decision, message and figure shown is the server's (and
// so the library's); this file only sends requests and draws the answers.
"use strict";

const $ = (id) => document.getElementById(id);
const editor = $("editor");
const gutter = $("gutter");

/// An element with attributes and children (strings become text, never HTML).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/// The nodes given, without the absent ones.
const present = (...nodes) => nodes.filter((n) => n !== null && n !== undefined);

async function api(path, body, raw) {
  const headers = { "content-type": raw ? "text/yaml" : "application/json" };
  const token = $("token").value.trim();
  if (token) headers.authorization = "Bearer " + token;
  const response = await fetch(path, { method: "POST", headers, body: raw ? body : JSON.stringify(body) });
  let json = null;
  try { json = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = new Error((json && json.message) || `${path} answered ${response.status}`);
    error.body = json;
    error.status = response.status;
    throw error;
  }
  return json;
}

/// The error of an answer as text: the message and each located entry.
function describeError(error) {
  const lines = [error.message];
  for (const entry of (error.body && error.body.errors) || []) {
    const at = entry.location || {};
    const where = [at.pointer, at.line && `line ${at.line}`, at.column && `column ${at.column}`].filter(Boolean).join(", ");
    lines.push(`${where ? where + ": " : ""}${entry.message}${entry.help ? " (help: " + entry.help + ")" : ""}`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- editor

let marks = new Map(); // line -> "error" | "warning"

function drawGutter() {
  const count = editor.value.split("\n").length;
  const lines = [];
  for (let n = 1; n <= count; n++) {
    const mark = marks.get(n);
    lines.push(el("span", { class: mark, "data-line": n }, String(n)));
  }
  gutter.replaceChildren(...lines);
  gutter.scrollTop = editor.scrollTop;
}

editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; });

let checkSeq = 0;
let checkTimer = null;
editor.addEventListener("input", () => {
  drawGutter();
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 250);
});

/// Moves the caret to a line and column of the editor.
function goTo(line, column) {
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, (column || 1) - 1);
  editor.focus();
  editor.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

async function check() {
  const seq = ++checkSeq;
  let report;
  try {
    report = (await api("/v1/check", editor.value, true)).policies[0];
  } catch (error) {
    if (seq !== checkSeq) return;
    $("policy-status").textContent = "The check failed: " + describeError(error);
    return;
  }
  if (seq !== checkSeq) return;
  marks = new Map();
  const items = report.diagnostics.map((d) => {
    if (d.line > 0 && marks.get(d.line) !== "error") marks.set(d.line, d.severity);
    const where = d.line > 0 ? `line ${d.line}, column ${d.column}` : "the whole policy";
    const button = el("button", { type: "button", class: "link", "aria-label": `go to ${where}` }, where);
    button.addEventListener("click", () => goTo(d.line, d.column));
    return el("li", { class: "diag-" + d.severity, "data-line": d.line, "data-code": d.code },
      el("strong", {}, d.severity), " ", button, ": ", el("span", { class: "diag-message" }, d.message),
      " ", el("code", {}, d.code),
      d.help ? el("span", { class: "diag-help" }, "help: " + d.help) : null);
  });
  drawGutter();
  const errors = report.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = report.diagnostics.length - errors;
  if (items.length === 0) items.push(el("li", { class: "ok" }, "No errors or warnings."));
  $("diagnostics").replaceChildren(...items);
  const status = $("policy-status");
  if (report.valid) {
    const s = report.summary;
    status.className = "ok";
    status.textContent = `Policy \`${s.name}\` (${s.hash}): ${s.rules} rules, ${s.phrases} phrases, ${s.topics} topics; ` +
      (warnings ? `${warnings} warning${warnings === 1 ? "" : "s"}` : "no errors");
  } else {
    status.className = "error";
    status.textContent = `The policy does not load: ${errors} error${errors === 1 ? "" : "s"}`;
  }
}

async function loadBuiltin() {
  const [policy, tests] = await Promise.all([
    fetch("/playground/default.yaml").then((r) => r.text()),
    fetch("/playground/default.tests.yaml").then((r) => r.text()),
  ]);
  editor.value = policy;
  if (!$("tests-editor").value) $("tests-editor").value = tests;
  drawGutter();
  await check();
}

$("reset-policy").addEventListener("click", () => { loadBuiltin(); });

// ---------------------------------------------------------- conversation

/// The conversation so far: turns and statuses, replayed on every send.
let events = [];

/// A string's byte range as a range of UTF-16 indexes (evidence spans are bytes).
function byteRangeToIndexes(text, start, end) {
  const bytes = new TextEncoder().encode(text);
  const decode = (n) => new TextDecoder().decode(bytes.slice(0, n)).length;
  return [decode(start), decode(end)];
}

/// The message with each span that fired inside a <mark>.
function highlighted(text, reasons) {
  const spans = [];
  for (const reason of reasons || []) {
    const e = reason.evidence || {};
    if (typeof e.start === "number" && typeof e.end === "number" && e.end > e.start) {
      spans.push(byteRangeToIndexes(text, e.start, e.end));
    }
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push([...span]);
  }
  const parts = [];
  let at = 0;
  for (const [start, end] of merged) {
    parts.push(text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

function evidenceText(evidence) {
  return Object.entries(evidence || {}).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
}

function decisionView(decision) {
  const rows = [];
  const row = (name, value) => { if (value !== undefined && value !== null && value !== "") rows.push(el("dt", {}, name), el("dd", {}, value)); };
  row("kind", decision.kind);
  row("deciding rule", decision.rule);
  if (decision.reasons && decision.reasons.length) {
    row("reasons", el("ul", { class: "reasons" }, decision.reasons.map((r) =>
      el("li", {}, el("code", {}, r.rule), ` [${r.trigger}] ${r.detail}`,
        el("br"), el("small", {}, "evidence: " + evidenceText(r.evidence))))));
  }
  if (decision.route) {
    const r = decision.route;
    row("route", `queue ${r.queue}${r.skill ? ", skill " + r.skill : ""}, priority ${r.priority}`);
  }
  row("message to the user", decision.message);
  row("note for the agent", decision.agent_note);
  row("phase", decision.phase || "bot");
  return el("dl", { class: "decision" }, rows);
}

function verdict(decision) {
  return el("span", { class: "verdict action-" + decision.action, "data-action": decision.action }, decision.action);
}

function drawConversation(answer) {
  const items = events.map((event, i) => {
    const result = answer.results[i];
    const decision = result.decision;
    let said;
    if (event.type === "event") {
      said = el("p", { class: "said hub" }, "agent hub: ", el("code", {}, event.value.state));
    } else if (event.role === "bot") {
      said = el("p", { class: "said bot" }, "bot: ", event.text);
    } else {
      said = el("p", { class: "said user" }, "user: ", el("span", { class: "text" }, highlighted(event.text, decision.reasons)));
    }
    const handoff = result.handoff
      ? el("details", { class: "handoff" }, el("summary", {}, `the ${result.handoff.name} event`),
        el("pre", { class: "json", tabindex: "0" }, JSON.stringify(result.handoff, null, 2)))
      : null;
    return el("li", { "data-index": i }, said, el("p", {}, "decision: ", verdict(decision)), decisionView(decision), handoff);
  });
  $("log").replaceChildren(...items);
  $("phase").textContent = answer.phase;
}

async function send(event) {
  $("conversation-error").textContent = "";
  events.push(event);
  try {
    drawConversation(await api("/v1/preview", { policy: editor.value, turns: events }));
  } catch (error) {
    events.pop();
    $("conversation-error").textContent = describeError(error);
  }
}

function turnFromForm(role) {
  const turn = { text: $("message").value, role };
  const outcome = $("outcome").value;
  if (outcome !== "ok") turn.outcome = outcome;
  const intent = $("intent").value.trim();
  const confidence = $("confidence").value;
  if (intent || confidence !== "") turn.intent = { name: intent || "unknown", confidence: confidence === "" ? 1 : Number(confidence) };
  if ($("sentiment").value !== "") turn.sentiment = Number($("sentiment").value);
  if ($("locale").value.trim()) turn.locale = $("locale").value.trim();
  if ($("agents").value) turn.agents_available = $("agents").value === "true";
  if ($("time").value) turn.timestamp = new Date($("time").value).toISOString();
  const attributes = $("attributes").value.trim();
  if (attributes) turn.attributes = JSON.parse(attributes);
  return turn;
}

function sendTurn(role) {
  let turn;
  try {
    turn = turnFromForm(role);
  } catch (error) {
    $("conversation-error").textContent = "The attributes are not a JSON object: " + error.message;
    $("attributes").focus();
    return;
  }
  send(turn).then(() => { $("message").value = ""; $("message").focus(); });
}

$("turn-form").addEventListener("submit", (e) => { e.preventDefault(); sendTurn("user"); });
$("message").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendTurn("user"); }
});
$("bot-turn").addEventListener("click", () => sendTurn("bot"));
for (const button of document.querySelectorAll("button.status")) {
  button.addEventListener("click", () => send({ type: "event", name: "handoff.status", value: { state: button.dataset.state } }));
}
$("reset-conversation").addEventListener("click", () => {
  events = [];
  $("log").replaceChildren();
  $("phase").textContent = "bot";
  $("conversation-error").textContent = "";
});

// ------------------------------------------------------------ transcript

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/// A horizontal bar chart of `entries` ([label, count]), with its numbers.
function barChart(title, entries) {
  const width = 320, bar = 18, gap = 6, labelWidth = 130;
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const height = Math.max(1, entries.length) * (bar + gap) + gap;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}: ` + (entries.map(([k, n]) => `${k} ${n}`).join(", ") || "none") });
  entries.forEach(([label, n], i) => {
    const y = gap + i * (bar + gap);
    const w = Math.max(1, ((width - labelWidth - 40) * n) / max);
    chart.append(
      svg("text", { x: labelWidth - 6, y: y + bar - 5, "text-anchor": "end" }, label.length > 20 ? label.slice(0, 19) + "…" : label),
      svg("rect", { x: labelWidth, y, width: w, height: bar, fill: "#4a6fa5" }),
      svg("text", { x: labelWidth + w + 4, y: y + bar - 5 }, String(n)));
  });
  if (!entries.length) chart.append(svg("text", { x: 4, y: 16 }, "none"));
  return el("figure", {}, el("figcaption", {}, title), chart);
}

function rateChart(stats) {
  const pct = (stats.escalation_rate * 100).toFixed(1) + "%";
  const width = 320;
  const chart = svg("svg", { width, height: 24, viewBox: `0 0 ${width} 24`, role: "img", "aria-label": `escalation rate ${pct}` },
    svg("rect", { x: 0, y: 2, width, height: 20, fill: "#e4e4e4" }),
    svg("rect", { x: 0, y: 2, width: width * stats.escalation_rate, height: 20, fill: "#b00020" }));
  return el("figure", {}, el("figcaption", {}, "Escalation rate"),
    el("p", { class: "rate", id: "escalation-rate" }, pct),
    chart,
    el("p", {}, `${stats.escalated} of ${stats.conversations} conversations escalated, ${stats.offered} only offered; ${stats.turns} user turns`));
}

function drawTranscript(answer, name) {
  const s = answer.stats;
  const entries = (o) => Object.entries(o || {});
  const charts = el("div", { class: "charts" },
    rateChart(s),
    barChart("Decisions by deciding rule", entries(s.rules)),
    barChart("Reasons by trigger", entries(s.triggers)),
    barChart("Decisions by action", entries(s.actions)),
    barChart("First escalation at turn", entries(s.first_escalation_turn).map(([t, n]) => ["turn " + t, n])));
  const rows = answer.conversations.map((c) => el("tr", {},
    el("th", { scope: "row" }, c.id),
    el("td", {}, verdict({ action: c.action }), c.turn ? ` at turn ${c.turn}` : "", c.rule ? ` by ${c.rule}` : ""),
    el("td", {}, el("ol", {}, c.decisions.map((d, i) =>
      el("li", {}, el("span", { class: "text" }, highlighted(c.texts[i] || "", d.reasons)), " → ", verdict(d), d.rule ? ` (${d.rule})` : ""))))));
  const table = el("table", {}, el("caption", { class: "visually-hidden" }, "Each conversation's decisions"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "conversation"), el("th", { scope: "col" }, "came to"), el("th", { scope: "col" }, "every user turn"))),
    el("tbody", {}, rows));
  const bad = answer.bad_lines.length
    ? el("ul", { class: "error" }, answer.bad_lines.map((b) => el("li", {}, `line ${b.location.line}, column ${b.location.column}: ${b.message}${b.help ? " (help: " + b.help + ")" : ""}`)))
    : null;
  $("transcript-result").replaceChildren(...present(el("h3", {}, `${name}: policy ${s.policy} (${s.hash})`), bad, charts, el("h3", {}, "Conversations"), table));
}

async function runTranscript(file) {
  const out = $("transcript-result");
  out.replaceChildren(el("p", {}, `Reading ${file.name}…`));
  try {
    const transcript = await file.text();
    drawTranscript(await api("/v1/stats", { policy: editor.value, transcript, name: file.name }), file.name);
  } catch (error) {
    out.replaceChildren(el("p", { class: "error", role: "alert" }, describeError(error)));
  }
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) runTranscript(file);
});
$("transcript-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (file) runTranscript(file);
});

// ----------------------------------------------------------------- tests

async function runTests() {
  const out = $("tests-result");
  out.replaceChildren(el("p", {}, "Running…"));
  let report;
  try {
    report = await api("/v1/tests", { policy: editor.value, tests: $("tests-editor").value || null });
  } catch (error) {
    out.replaceChildren(el("p", { class: "error", role: "alert" }, describeError(error)));
    return;
  }
  const failed = report.cases.filter((c) => !c.passed);
  const summary = el("p", { id: "tests-summary", class: report.failed ? "error" : "ok" },
    `${report.passed} passed, ${report.failed} failed`);
  const failures = failed.map((c) => el("li", { class: "case-failed" }, el("strong", {}, c.name),
    el("ul", {}, c.failures.map((m) => el("li", {},
      `turn ${m.turn}: expected ${m.field} \`${m.expected}\`, got \`${m.actual}\``,
      el("ul", {}, (m.decision.reasons || []).map((r) => el("li", {}, el("code", {}, r.rule), ` [${r.trigger}] ${r.detail}`))))))));
  const uncovered = report.uncovered_rules.length
    ? el("p", {}, "Rules no test made fire: " + report.uncovered_rules.join(", "))
    : null;
  out.replaceChildren(...present(summary, failed.length ? el("ol", { class: "failures" }, failures) : null, uncovered));
}

$("run-tests").addEventListener("click", runTests);

loadBuiltin().catch((error) => { $("policy-status").textContent = "Cannot load the built-in policy: " + error.message; });
