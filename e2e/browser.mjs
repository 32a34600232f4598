// Sportello's browser checks (EUPL-1.2), shared by the citizen's journey (journey.mjs) and the officer's
// (office.mjs): a page checked by axe-core against WCAG 2.1 A and AA at 1280 and at 390 px and screenshotted, the
// steps that name what failed and what the page showed, and the run that launches Debian's Chromium and reports.
//
// On every page state checked, one line:
//
//   DRILL axe page=<name> url=<path> violations=<rules violated>
//
// followed by the details of each violation.

import { readFile, mkdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve("axe-core/axe.min.js");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
export const DESKTOP = { width: 1280, height: 900 };
export const MOBILE = { width: 390, height: 844 };
// The home and situation pages list every decree in force, period by period (the twelve indemnities of DL 18
// and DL 34 art. 84): longer pages, larger shots.
const MAX_SHOT_BYTES = 600 * 1024;

/// A step that went wrong: what was being done, and what the page showed then.
export class StepFailure extends Error {}

/// What a page shows, in a line: its address, title, main heading and any alert, for failure messages.
export async function describe(page) {
  try {
    const shown = await page.evaluate(() => {
      const text = (selector) => Array.from(document.querySelectorAll(selector))
        .map((e) => e.textContent.replace(/\s+/g, " ").trim()).filter(Boolean).join(" | ");
      return { title: document.title, h1: text("h1"), alerts: text(".alert, .invalid-feedback") };
    });
    const url = new URL(page.url());
    return `the page at ${url.pathname}${url.search} showed title "${shown.title}", heading "${shown.h1}"` +
      (shown.alerts ? `, alerts "${shown.alerts}"` : "");
  } catch (e) {
    return `the page at ${page.url()} could not be read (${e.message.split("\n")[0]})`;
  }
}

export class Pages {
  constructor(options, browser, axeSource) {
    this.options = options;
    this.browser = browser;
    this.axeSource = axeSource;
    this.shot = 0;
    this.results = [];
    this.problems = [];
  }

  url(p) { return `${this.options.base}${p}`; }

  /// A fresh browser context (its own cookies), whose pages report script errors, refused resources and failed
  /// sub-resources as problems: a page that breaks its own content security policy fails the journey.
  async context(who) {
    const context = await this.browser.newContext({ viewport: DESKTOP, locale: "it-IT", timezoneId: "Europe/Rome" });
    context.setDefaultTimeout(20000);
    context.on("page", (page) => this.watch(page, who));
    return context;
  }

  watch(page, who) {
    page.on("pageerror", (error) => this.problems.push(`${who}: script error on ${page.url()}: ${error.message}`));
    page.on("console", (message) => {
      // A document answered with 4xx on purpose (a wrong PIN is 401, a refused form 422) is logged as a failed
      // load; failed sub-resources are caught below with their address.
      // bootstrap-italia's CSS embeds the icon font of its video player (VideoJS) as a data: URL; no page uses a
      // video player, Chromium decodes the font anyway, and the portal's font-src 'self' refuses it, as it should.
      const text = message.text();
      const videoFont = text.includes("Loading the font 'data:application/font-woff") && text.includes("font-src");
      if (message.type() === "error" && !text.startsWith("Failed to load resource") && !videoFont) {
        this.problems.push(`${who}: console error on ${page.url()}: ${text.slice(0, 300)}`);
      }
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && response.request().resourceType() !== "document") {
        this.problems.push(`${who}: ${response.url()} answered ${response.status()}`);
      }
    });
    page.on("requestfailed", (request) => {
      if (request.failure()?.errorText !== "net::ERR_ABORTED") {
        this.problems.push(`${who}: ${request.url()} failed: ${request.failure()?.errorText}`);
      }
    });
  }

  /// Runs `action`; if it throws, the journey fails there, naming the step and describing the page.
  async step(page, name, action) {
    try {
      return await action();
    } catch (e) {
      if (e instanceof StepFailure) { throw e; }
      throw new StepFailure(`step "${name}" failed: ${e.message.split("\n")[0]}; ${await describe(page)}`);
    }
  }

  /// Fails the step unless `condition`.
  async expect(page, condition, what) {
    if (!condition) { throw new StepFailure(`expected ${what}; ${await describe(page)}`); }
  }

  /// Checks the page as it stands with axe-core at both widths, 1280 and 390 px, and screenshots it as NN-name.png
  /// at the width asked for (`mobile`: 390 px). At 390 px the page must also fit the screen: nothing wider than the
  /// phone, which would hide what is on the right, the status of an application say.
  async check(page, name, { mobile = false } = {}) {
    // axe-core goes in through the DevTools protocol (page.evaluate), not a <script> element: the portal's content
    // security policy allows only its own script files, and keeping that policy in force — rather than opening
    // the context with bypassCSP — means the pages are checked, and shown, exactly as a citizen's browser has them.
    const already = await page.evaluate(() => typeof window.axe !== "undefined");
    if (!already) { await page.evaluate(this.axeSource); }
    const axe = (width) => page.evaluate(async ([tags, width]) => {
      const results = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
      return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: `${v.help} (at ${width} px)`,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: (n.failureSummary || "").replace(/\s+/g, " ") })),
      }));
    }, [TAGS, width]);
    const outcome = [];
    this.shot += 1;
    const file = path.join(this.options.shots, `${String(this.shot).padStart(2, "0")}-${name}.png`);
    for (const viewport of [DESKTOP, MOBILE]) {
      await page.setViewportSize(viewport);
      outcome.push(...await axe(viewport.width));
      if (viewport === MOBILE) {
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        if (wide > MOBILE.width) { this.problems.push(`${name}: ${wide} px wide at ${MOBILE.width} px`); }
      }
      if ((viewport === MOBILE) === mobile) {
        await page.screenshot({ path: file, fullPage: true, animations: "disabled", caret: "hide" });
      }
    }
    await page.setViewportSize(DESKTOP);
    // Dates are written as the institute writes them, 22/11/2026, never 2026-11-22.
    const iso = (await page.evaluate(() => document.body.innerText)).match(/\b\d{4}-\d{2}-\d{2}\b/);
    if (iso) { this.problems.push(`${name}: a date written ${iso[0]}`); }
    const size = (await stat(file)).size;
    if (size > MAX_SHOT_BYTES) {
      this.problems.push(`${file} is ${Math.round(size / 1024)} KB, more than ${MAX_SHOT_BYTES / 1024} KB`);
    }
    const where = new URL(page.url());
    const at = `${where.pathname}${where.search}`;
    this.results.push({ name, at, violations: outcome });
    console.log(`DRILL axe page=${name} url=${at} violations=${outcome.length}`);
    for (const v of outcome) {
      console.log(`  violation ${v.id} (${v.impact}): ${v.help}`);
      for (const n of v.nodes) { console.log(`    at ${n.target}: ${n.summary}`); }
    }
  }

  /// Opens `p` and checks it; `status` is what the document must answer.
  async visit(page, name, p, status = 200) {
    await this.step(page, `open ${p}`, async () => {
      const response = await page.goto(this.url(p));
      await this.expect(page, response && response.status() === status, `${p} to answer ${status}, not ${response?.status()}`);
    });
    await this.check(page, name);
  }

  /// Submits the form the button `button` belongs to and waits for the answer; `status` is what it must be.
  async submit(page, button, status) {
    const [response] = await Promise.all([
      page.waitForNavigation({ waitUntil: "load" }),
      page.getByRole("button", { name: button, exact: true }).click(),
    ]);
    await this.expect(page, response && response.status() === status,
      `the form behind "${button}" to answer ${status}, not ${response?.status()}`);
  }
}

/// Runs `script`'s checks: `make(browser, axeSource)` builds them (a `Pages`), whose `run()` walks the pages; prints
/// what was checked and every problem, and exits 0 only if every step went through with no violation and no problem.
export async function runChecks(script, options, make) {
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  try {
    await stat(executablePath);
  } catch {
    console.error(`${script}: no Chromium at ${executablePath}: install Debian's package (apt-get install chromium) or set CHROMIUM`);
    process.exit(1);
  }
  await mkdir(options.shots, { recursive: true });
  const axeSource = await readFile(AXE_PATH, "utf8");
  const browser = await chromium.launch({ executablePath, headless: true });
  const checks = make(browser, axeSource);
  let failure = null;
  try {
    await checks.run();
  } catch (e) {
    failure = e instanceof StepFailure ? e.message : `the journey broke off: ${e.stack || e}`;
  } finally {
    await browser.close();
  }
  const violated = checks.results.filter((r) => r.violations.length > 0);
  const total = checks.results.reduce((sum, r) => sum + r.violations.length, 0);
  console.log(`journey: ${checks.results.length} pages checked, ${total} axe violations, screenshots in ${options.shots}`);
  for (const problem of checks.problems) { console.log(`problem: ${problem}`); }
  if (failure) { console.error(`${script}: ${failure}`); }
  if (violated.length > 0) {
    console.error(`${script}: axe found WCAG 2.1 AA violations on ${violated.map((r) => r.name).join(", ")}`);
  }
  if (checks.problems.length > 0) { console.error(`${script}: ${checks.problems.length} problems in the pages (above)`); }
  process.exit(failure || violated.length > 0 || checks.problems.length > 0 ? 1 : 0);
}
