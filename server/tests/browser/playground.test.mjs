// The playground page in a real browser: Debian's `chromium`, driven by
// puppeteer-core, against the real escalate-server binary started with
// --playground on a free loopback port. Each step writes a screenshot to
// target/playground-screenshots/. Without chromium the run fails.
//
//   cargo build -p escalate-server && (cd server/tests/browser && npm ci && npm test)
//
// ESCALATE_SERVER_BIN names another binary; CHROMIUM another browser.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const binary = process.env.ESCALATE_SERVER_BIN || join(root, "target/debug/escalate-server");
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = join(root, "target/playground-screenshots");

let server;
let browser;
let page;
let base;
/// Requests to elsewhere and errors the page threw: both must stay empty.
const foreign = [];
const thrown = [];

/// Starts the server and resolves with its address once it listens.
function startServer() {
  return new Promise((resolveAddress, reject) => {
    assert.ok(existsSync(binary), `no server binary at ${binary}: run \`cargo build -p escalate-server\` first`);
    server = spawn(binary, ["--listen", "127.0.0.1:0", "--playground"], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const timer = setTimeout(() => reject(new Error("the server did not start in 60 s:\n" + log)), 60_000);
    server.stderr.setEncoding("utf8");
    server.stderr.on("data", (chunk) => {
      log += chunk;
      const found = log.match(/listening on (http:\/\/[0-9.:]+)/);
      if (found) {
        clearTimeout(timer);
        resolveAddress(found[1]);
      }
    });
    server.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${log}`)));
  });
}

async function shot(name) {
  await page.screenshot({ path: join(shots, name + ".png"), fullPage: false });
}

/// Waits until the page's text at `selector` satisfies `check` (polled
/// from here: the page's Content-Security-Policy forbids evaluating strings
/// in it), and returns it.
async function textOf(selector, check, what) {
  const deadline = Date.now() + 30_000;
  let text = null;
  while (Date.now() < deadline) {
    text = await page.$eval(selector, (n) => n.textContent).catch(() => null);
    if (text !== null && check(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: ${selector} reads ${JSON.stringify(text)}`);
}

before(async () => {
  assert.ok(existsSync(chromium), `no browser at ${chromium}: install Debian's \`chromium\` (apt-get install chromium)`);
  mkdirSync(shots, { recursive: true });
  base = await startServer();
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // Chromium's sandbox needs privileges a container does not give.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  // Nothing may come from anywhere but the server.
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    // data: URLs are the browser's own (the date picker's icon), not requests.
    if (request.url().startsWith(base + "/") || request.url().startsWith("data:")) {
      request.continue();
    } else {
      foreign.push(request.url());
      request.abort();
    }
  });
  page.on("pageerror", (error) => thrown.push(error.message));
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
});

test("the built-in policy loads without errors", async () => {
  await page.goto(base + "/playground", { waitUntil: "networkidle0" });
  const status = await textOf("#policy-status", (text) => text.includes('no errors'), "the built-in policy is checked");
  assert.match(status, /Policy `default` \([0-9a-f]{16}\): 15 rules/);
  assert.equal(await page.$$eval("#gutter .error", (n) => n.length), 0);
  const lines = await page.$eval("#editor", (e) => e.value.split("\n").length);
  assert.equal(await page.$$eval("#gutter span", (n) => n.length), lines, "a line number per line");
  await shot("01-policy");
});

test("a misspelt field typed into the editor shows an error at its line", async () => {
  // The first rule priority: select the word and type a misspelling over it.
  const line = await page.$eval("#editor", (editor) => {
    const lines = editor.value.split("\n");
    const index = lines.findIndex((l) => /^ {4}priority: \d+$/.test(l));
    const offset = lines.slice(0, index).reduce((n, l) => n + l.length + 1, 0) + 4;
    editor.focus();
    editor.setSelectionRange(offset, offset + "priority".length);
    return index + 1;
  });
  await page.keyboard.type("priorty");
  await textOf("#policy-status", (text) => text.includes('does not load'), "the misspelling is found");
  const item = await page.$eval(`#diagnostics li[data-line="${line}"]`, (n) => n.textContent);
  assert.match(item, /unknown field `priorty`/);
  assert.match(item, /did you mean `priority`\?/);
  assert.match(item, new RegExp(`line ${line}, column 5`));
  const marked = await page.$eval(`#gutter span[data-line="${line}"]`, (n) => n.className);
  assert.equal(marked, "error");
  // The error's button takes the caret to its place.
  await page.click(`#diagnostics li[data-line="${line}"] button`);
  const caretLine = await page.$eval("#editor", (e) => e.value.slice(0, e.selectionStart).split("\n").length);
  assert.equal(caretLine, line);
  // The gutter scrolled with the editor: the marked number is beside the line.
  const [gutterTop, editorTop] = await page.evaluate(() => [document.getElementById("gutter").scrollTop, document.getElementById("editor").scrollTop]);
  assert.ok(Math.abs(gutterTop - editorTop) < 2, `gutter at ${gutterTop}, editor at ${editorTop}`);
  await page.$eval("#policy", (n) => n.scrollIntoView());
  await shot("02-misspelt-field");
  await page.click("#reset-policy");
  await textOf("#policy-status", (text) => text.includes('no errors'), "the built-in policy again");
});

test("asking for a real person escalates, with the phrase highlighted", async () => {
  await page.focus("#message");
  await page.keyboard.type("I want to talk to a real person");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#log li .verdict");
  const action = await page.$eval("#log li .verdict", (n) => n.dataset.action);
  assert.equal(action, "escalate");
  const marked = await page.$$eval("#log li .said mark", (n) => n.map((m) => m.textContent));
  assert.ok(marked.some((m) => m.includes("real person")), `highlighted: ${JSON.stringify(marked)}`);
  const decision = await page.$eval("#log li dl.decision", (n) => n.textContent);
  assert.match(decision, /asks-for-human/);
  assert.match(decision, /queue general/);
  assert.equal(await page.$eval("#phase", (n) => n.textContent), "waiting");
  await page.click("#log li details.handoff summary");
  const event = JSON.parse(await page.$eval("#log li details.handoff pre", (n) => n.textContent));
  assert.equal(event.name, "handoff.initiate");
  assert.equal(event.value.rule, "asks-for-human");
  await page.$eval("#conversation", (n) => n.scrollIntoView());
  await shot("03-escalate");
});

test("the agent hub's accepted moves the phase to with_agent", async () => {
  await page.click('button.status[data-state="accepted"]');
  await textOf("#phase", (text) => text === 'with_agent', "the phase after accepted");
  const last = await page.$eval("#log > li:last-child", (n) => n.textContent);
  assert.match(last, /agent hub: accepted/);
  await page.click('button.status[data-state="completed"]');
  await textOf("#phase", (text) => text === 'bot', "the phase after completed");
  await page.$eval("#conversation", (n) => n.scrollIntoView());
  await shot("04-lifecycle");
});

test("a dropped transcript shows its escalation rate and charts", async () => {
  const jsonl = [
    { conversation_id: "a", text: "hello" },
    { conversation_id: "a", text: "I want to talk to a real person" },
    { conversation_id: "b", text: "where is my parcel" },
    { conversation_id: "b", text: "thanks, bye" },
    { conversation_id: "c", text: "hi" },
    { conversation_id: "d", text: "I'm going to sue your company" },
  ].map((t) => JSON.stringify(t)).join("\n");
  await page.evaluate((text) => {
    const data = new DataTransfer();
    data.items.add(new File([text], "chats.jsonl", { type: "application/jsonl" }));
    const zone = document.getElementById("drop");
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  }, jsonl);
  const rate = await textOf("#escalation-rate", (text) => text.endsWith('%'), "the escalation rate");
  assert.equal(rate, "50.0%");
  const captions = await page.$$eval("#transcript-result figcaption", (n) => n.map((c) => c.textContent));
  assert.deepEqual(captions, ["Escalation rate", "Decisions by deciding rule", "Reasons by trigger", "Decisions by action", "First escalation at turn"]);
  const rules = await page.$eval("#transcript-result figure:nth-of-type(2) svg", (n) => n.getAttribute("aria-label"));
  assert.match(rules, /asks-for-human 1/);
  assert.match(rules, /legal-threat 1/);
  const turns = await page.$eval("#transcript-result figure:nth-of-type(5) svg", (n) => n.getAttribute("aria-label"));
  assert.match(turns, /turn 1 1, turn 2 1/);
  assert.equal(await page.$$eval("#transcript-result tbody tr", (n) => n.length), 4);
  assert.doesNotMatch(await page.$eval("#transcript-result", (n) => n.textContent), /null|undefined/);
  await page.$eval("#transcript", (n) => n.scrollIntoView());
  await shot("05-transcript");

  // A Bot Framework Emulator transcript, chosen with the file picker.
  const activities = [
    { type: "message", from: { role: "user" }, conversation: { id: "e-1" }, text: "I want a real person" },
    { type: "message", from: { role: "bot" }, conversation: { id: "e-1" }, text: "One moment" },
    { type: "conversationUpdate", conversation: { id: "e-1" } },
  ];
  const picker = await page.$("#transcript-file");
  const path = join(shots, "emulator.transcript");
  (await import("node:fs")).writeFileSync(path, JSON.stringify(activities));
  await picker.uploadFile(path);
  await textOf("#transcript-result h3", (text) => text.startsWith('emulator.transcript'), "the emulator transcript");
  assert.equal(await page.$eval("#escalation-rate", (n) => n.textContent), "100.0%");
});

test("the policy's tests run from the page, and a failure says why", async () => {
  await page.click("#run-tests");
  const summary = await textOf("#tests-summary", (text) => / passed, 0 failed$/.test(text), "the built-in tests");
  assert.ok(Number(summary.split(" ")[0]) > 10, summary);
  await page.$eval("#tests-editor", (n) => {
    n.value += "\n  - name: wrong on purpose\n    turns:\n      - text: \"I want to talk to a real person\"\n    expect: { action: none }\n";
  });
  await page.click("#run-tests");
  await textOf("#tests-summary", (text) => text.endsWith(', 1 failed'), "the failing test");
  const failure = await page.$eval("#tests-result .failures", (n) => n.textContent);
  assert.match(failure, /wrong on purpose/);
  assert.match(failure, /turn 1: expected action `none`, got `escalate`/);
  assert.match(failure, /asks-for-human \[keyword\]/);
  await page.$eval("#tests", (n) => n.scrollIntoView());
  await shot("06-tests");
});

test("every control is labelled and reachable by the keyboard", async () => {
  const unlabelled = await page.$$eval("input, select, textarea, button", (nodes) =>
    nodes.filter((n) => !(n.labels && n.labels.length) && !n.getAttribute("aria-label") && !n.textContent.trim())
      .map((n) => n.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, []);
  assert.ok(await page.$$eval("[aria-live]", (n) => n.length) >= 4, "results are announced");
  // From the message box, Tab reaches the turn's fields in order.
  await page.focus("#message");
  const order = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement.id));
  }
  assert.deepEqual(order, ["outcome", "intent", "confidence"]);
});

test("the page loaded nothing from elsewhere and threw nothing", () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(thrown, []);
});
