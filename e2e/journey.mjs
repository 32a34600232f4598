// Sportello's browser journey (EUPL-1.2): one citizen, in headless Chromium, through a running portal that has a
// waiting room in front of it — the waiting room (proof of work, then a place in the queue), the home page, asking
// for a PIN (read back from the portal's mailbox file), logging in, "La Sua situazione", the application form with
// the declarations of the law, the review, the receipt and "Le mie domande", the situation once an allowance is held
// and the refusal of a second one (art. 31); the English pages; and the error states (a codice fiscale that does not
// check out, a wrong PIN, an invalid IBAN), where accessibility most often breaks.
//
// On every page state axe-core checks WCAG 2.1 A and AA at 1280 and at 390 px (where the page must also fit the
// screen) and the page is screenshotted. One line per page, counting the violations at both widths:
//
//   DRILL axe page=<name> url=<path> violations=<rules violated>
//
// followed by the details of each violation. Exit status 0 only if every step went through and no page has a
// violation; 1 otherwise, naming the step and what the page showed; 2 for wrong arguments.
//
//   node journey.mjs BASE_URL --mailbox FILE --cf CODICE_FISCALE [--name "NOME COGNOME"] [--shots DIR]
//
// The portal must have one room guarding "/" with room for exactly one person inside (max_active = 1), so that the
// journey's citizen really waits behind a first visitor, and a [notify] mailbox at FILE. Chromium is Debian's
// (/usr/bin/chromium, or $CHROMIUM); Playwright's own browsers are never downloaded.

import os from "node:os";
import path from "node:path";
import { readFile } from "node:fs/promises";
import { MOBILE, Pages, StepFailure, runChecks } from "./browser.mjs";

const PIN_ALPHABET = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/;
const CONTACT = "cittadina@example.it";

function usage(message) {
  console.error(`journey.mjs: ${message}`);
  console.error("usage: node journey.mjs BASE_URL --mailbox FILE --cf CODICE_FISCALE [--shots DIR]");
  process.exit(2);
}

function parseArgs(argv) {
  const options = { shots: process.env.SPORTELLO_SCREENSHOTS || path.join(os.tmpdir(), "sportello-screenshots") };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--mailbox" || flag === "--cf" || flag === "--name" || flag === "--shots") {
      if (i + 1 >= argv.length) { usage(`${flag} needs a value`); }
      options[flag.slice(2)] = argv[++i];
    } else if (flag.startsWith("--")) {
      usage(`unknown option ${flag}`);
    } else {
      rest.push(flag);
    }
  }
  if (rest.length !== 1) { usage("give exactly one BASE_URL"); }
  if (!/^https?:\/\/[^/]+$/.test(rest[0])) { usage(`BASE_URL must be scheme and host only, e.g. http://127.0.0.1:8080, not ${rest[0]}`); }
  if (!options.mailbox) { usage("--mailbox is required: the portal's [notify] mailbox file, where the PIN arrives"); }
  if (!options.cf) { usage("--cf is required: a codice fiscale in the portal's registry, entitled to an allowance"); }
  options.base = rest[0];
  return options;
}

class Journey extends Pages {
  /// The PIN half the portal sent to `contact`, from its mailbox file (one JSON message a line).
  async pinFor(page, contact) {
    for (let attempt = 0; attempt < 100; attempt++) {
      let text = "";
      try { text = await readFile(this.options.mailbox, "utf8"); } catch (e) { if (e.code !== "ENOENT") { throw e; } }
      const messages = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((m) => m.to === contact);
      // The latest message: a new request replaces the PIN.
      for (const message of messages.reverse()) {
        const half = message.body.split("\n").map((l) => l.trim()).find((l) => PIN_ALPHABET.test(l));
        if (half) { return half; }
      }
      await page.waitForTimeout(100);
    }
    throw new StepFailure(`no PIN reached ${contact} in ${this.options.mailbox} within 10 s`);
  }

  /// Somebody ahead: a first visitor takes the only place inside, so the citizen will have to wait.
  async aheadInQueue() {
    const context = await this.context("the visitor ahead");
    const page = await context.newPage();
    await this.step(page, "the visitor ahead goes through the waiting room", async () => {
      await page.goto(this.url("/"));
      await page.waitForURL((u) => u.pathname === "/", { timeout: 30000 });
      await page.getByRole("heading", { level: 1 }).waitFor();
    });
    return page;
  }

  /// Issue 14 item 8: the form asks for the declarations of the allowance's article (DL 18/2020 art. 27 c. 1 for
  /// this citizen's: no pension, no other compulsory scheme; art. 31 c. 1: no reddito di cittadinanza), each with
  /// its article, and not for occasional-work income, which is no condition. Checks the English form too, then
  /// comes back to the Italian one, which the journey goes on filling in.
  async lawDeclarations(page, form) {
    const expected = [
      "di non essere titolare di pensione (art. 27 c. 1)",
      "di non essere iscritto ad altre forme previdenziali obbligatorie (art. 27 c. 1)",
      "di non percepire il reddito di cittadinanza (art. 31 c. 1)",
    ];
    const labels = async () => (await page.locator('input[type="checkbox"] + label').allTextContents())
      .map((t) => t.replace(/\s+/g, " ").trim());
    await this.step(page, "find the declarations of art. 27 on the form", async () => {
      const shown = await labels();
      await this.expect(page, JSON.stringify(shown) === JSON.stringify(expected),
        `the declarations ${JSON.stringify(expected)}, not ${JSON.stringify(shown)}`);
      await this.expect(page, !(await page.content()).includes("5.000"), "no declaration about occasional-work income");
    });
    await this.visit(page, "domanda-en", `${form.pathname}${form.search}&lang=en`);
    await this.step(page, "find the declarations in English", async () => {
      const shown = await labels();
      await this.expect(page, shown.includes("I am not enrolled in any other compulsory pension scheme (art. 27 c. 1)"),
        `the English declaration of art. 27 c. 1 among ${JSON.stringify(shown)}`);
    });
    await this.step(page, "back to the Italian form", async () => {
      await page.goto(this.url(`${form.pathname}${form.search}`));
      await page.getByRole("button", { name: "Prosegui e controlla i dati" }).waitFor();
    });
  }

  /// Issue 14 item 7: with art. 27 accepted, the situation offers no other allowance (this citizen is entitled to
  /// art. 30 as well) and says why, linking the application; the art. 30 form, reached anyway, is refused at once
  /// with the way on.
  async oneIndemnityOnly(page, receipt) {
    await this.step(page, "see the situation once art. 27 is accepted", async () => {
      await page.goto(this.url("/situazione"));
      // March 2020 is the page's first period: once it holds an allowance, none of March's is offered.
      await page.locator("#held-1").waitFor();
      const march = page.locator('section[aria-labelledby="period-1"]');
      const offered = await march.getByRole("link", { name: /^Presenta domanda/ }).count();
      await this.expect(page, offered === 0, `no "Presenta domanda" for March once one is held, not ${offered}`);
      const held = (await page.locator("#held-1").textContent()).replace(/\s+/g, " ");
      await this.expect(page, held.includes("non sono cumulabili (art. 31 c. 1)"), `the reason, with art. 31, in "${held}"`);
      await this.expect(page, await page.locator(`#held-1 a[href="${receipt}"]`).count() === 1, "a link to the application");
    });
    await this.check(page, "situazione-titolare");
    await this.visit(page, "domanda-non-cumulabile", "/domanda?scheme=art30", 409);
    await this.step(page, "find the way on from the refusal", async () => {
      for (const href of [receipt, "/domande", "/situazione"]) {
        await this.expect(page, await page.locator(`main a[href="${href}"], a.btn[href="${href}"]`).count() > 0,
          `a link to ${href}`);
      }
    });
  }

  async run() {
    const ahead = await this.aheadInQueue();
    const context = await this.context("the citizen");
    const page = await context.newPage();

    // The waiting room: the page as it stands while the browser computes the proof of work. The script is held
    // back until the page is checked, then let through to do its work.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route((u) => u.pathname.endsWith("/gate.js"), async (route) => { await held; await route.continue(); });
    await this.step(page, "arrive at the portal and land in the waiting room", async () => {
      await page.goto(this.url("/"), { waitUntil: "commit" });
      await page.locator('#gate[data-shown="challenge"]').waitFor();
      await this.expect(page, new URL(page.url()).pathname === "/attesa", "to be sent to /attesa");
    });
    await page.waitForLoadState("domcontentloaded").catch(() => {});
    await this.check(page, "attesa");
    release();
    await page.unroute((u) => u.pathname.endsWith("/gate.js"));

    // The proof of work done, the citizen has a ticket and waits: the only place inside is taken.
    await this.step(page, "compute the proof of work and take a place in the queue", async () => {
      await page.locator('#gate[data-shown="waiting"]').waitFor({ timeout: 30000 });
      await page.locator("#gate-position-number").waitFor();
    });
    const position = (await page.locator("#gate-position-number").textContent()).trim();
    await this.expect(page, position === "1", `position 1 in the queue, not ${position}`);
    await this.check(page, "attesa-coda");
    const remind = await page.locator('form[action="/attesa/avvisami"] input[name="contatto"]').count();
    await this.expect(page, remind === 1, "the waiting room to offer to tell the citizen when the turn is near");

    // The visitor ahead gives the place back; the waiting page, polling, lets the citizen in by itself.
    await this.step(ahead, "the visitor ahead leaves", async () => {
      const status = await ahead.evaluate(async () => (await fetch("/attesa/esci", { method: "POST" })).status);
      await this.expect(ahead, status === 200, `leaving the portal to answer 200, not ${status}`);
    });
    await this.step(page, "be admitted from the queue", async () => {
      await page.waitForURL((u) => u.pathname === "/", { timeout: 30000 });
      await page.getByRole("heading", { level: 1 }).waitFor();
    });
    await this.check(page, "home");

    // Asking for a PIN: first with a codice fiscale whose check character is wrong, then as it should be.
    await this.step(page, "follow the link to ask for a PIN", async () => {
      await page.getByRole("link", { name: "Non ha il PIN? Lo richieda" }).click();
      await page.waitForURL((u) => u.pathname === "/pin");
    });
    await this.check(page, "pin");
    const cf = this.options.cf.toUpperCase();
    const wrongCheck = cf.slice(0, 15) + (cf[15] === "A" ? "B" : "A");
    await this.step(page, "ask for a PIN with a codice fiscale that does not check out", async () => {
      await page.getByLabel("Codice fiscale").fill(wrongCheck);
      await page.getByLabel("E-mail o numero di cellulare").fill(CONTACT);
      await this.submit(page, "Richiedi il PIN", 422);
      await page.locator("#codice_fiscale-error").waitFor();
    });
    await this.check(page, "pin-errore");
    await this.step(page, "ask for a PIN", async () => {
      await page.getByLabel("Codice fiscale").fill(cf);
      await page.getByLabel("E-mail o numero di cellulare").fill(CONTACT);
      await this.submit(page, "Richiedi il PIN", 200);
    });
    await this.check(page, "pin-inviato");
    const pin = await this.step(page, "read the PIN from the mailbox", () => this.pinFor(page, CONTACT));

    // Logging in: a wrong PIN first.
    await this.step(page, "go to the login page", async () => {
      await page.getByRole("link", { name: "Accedi con il PIN" }).click();
      await page.waitForURL((u) => u.pathname === "/accedi");
    });
    await this.check(page, "accedi");
    const wrongPin = (pin[0] === "2" ? "3" : "2") + pin.slice(1);
    await this.step(page, "log in with a wrong PIN", async () => {
      await page.getByLabel("Codice fiscale").fill(cf);
      await page.getByLabel("PIN", { exact: true }).fill(wrongPin);
      await this.submit(page, "Accedi", 401);
      await page.locator("#login-refused").waitFor();
    });
    await this.check(page, "accedi-errore");
    await this.step(page, "log in with the PIN", async () => {
      await page.getByLabel("Codice fiscale").fill(cf);
      await page.getByLabel("PIN", { exact: true }).fill(pin);
      await this.submit(page, "Accedi", 200);
      await this.expect(page, new URL(page.url()).pathname === "/situazione", "to land on /situazione");
      await page.getByText("Ne ha diritto.").first().waitFor();
    });
    await this.check(page, "situazione");

    // The application: the form, on a phone too, an invalid IBAN, the review, the receipt, the list.
    await this.step(page, "open the application form of an allowance the citizen is entitled to", async () => {
      await page.getByRole("link", { name: /^Presenta domanda/ }).first().click();
      await page.waitForURL((u) => u.pathname === "/domanda");
    });
    const form = new URL(page.url());
    await this.check(page, "domanda");
    await this.check(page, "domanda-mobile", { mobile: true });
    await this.lawDeclarations(page, form);
    // bootstrap-italia draws radio buttons and check boxes on their labels: a citizen clicks the label.
    const tick = async (label) => {
      const box = page.getByLabel(label);
      if (!(await box.isChecked())) { await page.locator(`label[for="${await box.getAttribute("id")}"]`).click(); }
      await this.expect(page, await box.isChecked(), `"${label}" to be ticked`);
    };
    const fill = async (iban) => {
      await tick("Accredito sul conto corrente, libretto o carta con IBAN");
      await page.getByLabel("IBAN", { exact: true }).fill(iban);
      await page.getByLabel("E-mail").fill(CONTACT);
      await tick(/^di non essere titolare di pensione/);
      await tick(/^di non essere iscritto ad altre forme previdenziali obbligatorie/);
      await tick(/^di non percepire il reddito di cittadinanza/);
    };
    await this.step(page, "fill in the form with an IBAN whose check digits are wrong", async () => {
      await fill("IT61 X054 2811 1010 0000 0123 456");
      await this.submit(page, "Prosegui e controlla i dati", 422);
      await page.locator("#iban-error").waitFor();
    });
    await this.check(page, "domanda-errore");
    await this.step(page, "correct the IBAN and go on to the review", async () => {
      await fill("IT60 X054 2811 1010 0000 0123 456");
      await this.submit(page, "Prosegui e controlla i dati", 200);
      await page.getByRole("button", { name: "Conferma e invia" }).waitFor();
    });
    await this.check(page, "riepilogo");
    await this.step(page, "confirm and send the application", async () => {
      await this.submit(page, "Conferma e invia", 200);
      await this.expect(page, /^\/domande\/INPS-COVID-/.test(new URL(page.url()).pathname), "to land on the receipt");
      await page.getByText("Accolta", { exact: true }).waitFor();
    });
    const receipt = new URL(page.url()).pathname;
    await this.check(page, "ricevuta");
    await this.step(page, "open the list of applications", async () => {
      await page.getByRole("link", { name: "Le mie domande" }).click();
      await page.waitForURL((u) => u.pathname === "/domande");
      await page.getByRole("link", { name: receipt.split("/").pop() }).waitFor();
    });
    await this.check(page, "domande");
    await this.oneIndemnityOnly(page, receipt);

    // The same pages in English, and the public pages beside the journey.
    await this.visit(page, "home-en", "/?lang=en");
    await this.visit(page, "pin-en", "/pin?lang=en");
    await this.visit(page, "accedi-en", "/accedi?lang=en");
    await this.visit(page, "situazione-en", "/situazione?lang=en");
    await this.visit(page, "ricevuta-en", `${receipt}?lang=en`);
    await this.visit(page, "domande-en", "/domande?lang=en");
    await this.visit(page, "stato", "/stato");
    await this.visit(page, "stato-en", "/stato?lang=en");
    await this.visit(page, "accessibilita", "/accessibilita");
    await this.visit(page, "privacy", "/privacy");

    // Issue 14, items 9 and 10: the receipt in full and on paper, "Le mie domande" on a phone, the header's logout.
    await this.receiptInFull(page, receipt);
    await this.applicationsOnAPhone(page);
    await this.logOutFromTheHeader(page);
    await context.close();
  }

  /// The receipt shows the amount, the payment date and a print button that prints; on paper it keeps its content
  /// and drops the navigation.
  async receiptInFull(page, receipt) {
    await this.step(page, "read the amount, the payment date and the declarations on the receipt", async () => {
      await page.goto(this.url(receipt));
      const amount = (await page.locator("#receipt-amount").textContent()).trim();
      await this.expect(page, amount === "600,00 €", `the amount 600,00 €, not "${amount}"`);
      const date = (await page.locator("#receipt-pay-date").textContent()).trim();
      await this.expect(page, /^\d{2}\/\d{2}\/\d{4} \(prossima data di pagamento\)$/.test(date), `the next payment run, not "${date}"`);
      await page.locator("#receipt-declarations li").first().waitFor();
    });
    await this.step(page, "print the receipt with its button", async () => {
      // Headless Chromium has no print dialog: count the calls instead.
      await page.evaluate(() => { window.printed = 0; window.print = () => { window.printed += 1; }; });
      await page.getByRole("button", { name: "Stampa la ricevuta" }).click();
      const printed = await page.evaluate(() => window.printed);
      await this.expect(page, printed === 1, `the button to print once, not ${printed} times`);
    });
    await page.emulateMedia({ media: "print" });
    await this.step(page, "see the receipt as printed", async () => {
      await this.expect(page, !(await page.locator("#header-viewer").isVisible()), "no logout button on paper");
      await this.expect(page, await page.locator("#receipt-amount").isVisible(), "the amount on paper");
    });
    await this.check(page, "ricevuta-stampa");
    await page.emulateMedia({ media: "screen" });
  }

  /// "Le mie domande" at 390 px: each application's status visible and nothing wider than the screen.
  async applicationsOnAPhone(page) {
    await this.step(page, "open Le mie domande on a phone", async () => {
      await page.goto(this.url("/domande"));
      await page.setViewportSize(MOBILE);
      const status = page.locator(".applications-list .status").first();
      await status.waitFor();
      const box = await status.boundingBox();
      await this.expect(page, box && box.x >= 0 && box.x + box.width <= MOBILE.width, "the status inside the screen");
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      await this.expect(page, wide <= MOBILE.width, `a page no wider than the phone, not ${wide} px`);
    });
    await this.check(page, "domande-mobile", { mobile: true });
  }

  /// The header names who is logged in; its logout button ends the session and leads to a confirmation.
  async logOutFromTheHeader(page) {
    await this.step(page, "log out from the header", async () => {
      await page.goto(this.url("/domande"));
      const who = (await page.locator("#header-viewer").textContent()).replace(/\s+/g, " ");
      // By the name on file when the registry has one (--name), by the codice fiscale otherwise.
      const named = this.options.name || this.options.cf.toUpperCase();
      await this.expect(page, who.includes(named), `the header to name the citizen as "${named}", not "${who}"`);
      const [posted] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === "/esci"),
        page.locator("#header-viewer").getByRole("button", { name: "Esci", exact: true }).click(),
      ]);
      await this.expect(page, posted.status() === 303 && posted.headers().location === "/uscita",
        `the logout to lead to /uscita, not ${posted.status()} ${posted.headers().location}`);
      await page.waitForURL((u) => u.pathname === "/uscita");
      await page.getByRole("heading", { name: "Sessione chiusa" }).waitFor();
    });
    await this.check(page, "uscita");
    await this.step(page, "find the session closed", async () => {
      // The logout gave the waiting room's pass back too: the way in may pass through the queue again.
      await page.goto(this.url("/domande"));
      await page.waitForURL((u) => u.pathname === "/accedi", { timeout: 30000 });
    });
  }
}

const options = parseArgs(process.argv.slice(2));
runChecks("journey.mjs", options, (browser, axeSource) => new Journey(options, browser, axeSource));
