// Sportello's officer journey (EUPL-1.2): the institute's back office in headless Chromium, as a data protection
// officer goes through it — the login (with a wrong password first), the desk, a case refused without a reason and
// opened with one, the live dashboard, subject access (GDPR art. 15) for the same person, the breach assessment
// (art. 33) for a window, and the logout. axe-core checks every page against WCAG 2.1 A and AA at 1280 and at
// 390 px (browser.mjs), one `DRILL axe` line a page; the exit status is 0 only if every step went through with no
// violation and no problem in the pages.
//
//   node office.mjs BASE_URL --user NAME --password-file FILE --cf CODICE_FISCALE [--shots DIR] [--first N]
//
// The account must have the `dpo` role; CODICE_FISCALE a person in the registry. `--first N` numbers the
// screenshots from N (after the citizen's journey's).

import os from "node:os";
import path from "node:path";
import { readFile } from "node:fs/promises";
import { Pages, runChecks } from "./browser.mjs";

function usage(message) {
  console.error(`office.mjs: ${message}`);
  console.error("usage: node office.mjs BASE_URL --user NAME --password-file FILE --cf CODICE_FISCALE [--shots DIR] [--first N]");
  process.exit(2);
}

function parseArgs(argv) {
  const options = { shots: process.env.SPORTELLO_SCREENSHOTS || path.join(os.tmpdir(), "sportello-screenshots"), first: "1" };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (["--user", "--password-file", "--cf", "--shots", "--first"].includes(flag)) {
      if (i + 1 >= argv.length) { usage(`${flag} needs a value`); }
      options[flag.slice(2)] = argv[++i];
    } else if (flag.startsWith("--")) {
      usage(`unknown option ${flag}`);
    } else {
      rest.push(flag);
    }
  }
  if (rest.length !== 1) { usage("give exactly one BASE_URL"); }
  if (!/^https?:\/\/[^/]+$/.test(rest[0])) { usage(`BASE_URL must be scheme and host only, not ${rest[0]}`); }
  for (const needed of ["user", "password-file", "cf"]) {
    if (!options[needed]) { usage(`--${needed} is required`); }
  }
  if (!/^[0-9]+$/.test(options.first)) { usage("--first must be a number"); }
  options.base = rest[0];
  return options;
}

class Office extends Pages {
  /// Fills the fields of `values`, by their ids, on the page.
  async fill(page, values) {
    for (const [id, value] of Object.entries(values)) {
      await page.locator(`#${id}`).fill(value);
    }
  }

  async run() {
    this.shot = Number(this.options.first) - 1;
    const password = (await readFile(this.options["password-file"], "utf8")).trim();
    const cf = this.options.cf;
    const context = await this.context("the officer");
    const page = await context.newPage();

    await this.visit(page, "ufficio-accedi", "/ufficio/accedi");
    await this.step(page, "log in with a wrong password", async () => {
      await this.fill(page, { username: this.options.user, password: "non è la password giusta" });
      await this.submit(page, "Accedi", 401);
    });
    await this.check(page, "ufficio-accedi-errore");
    await this.step(page, "log in", async () => {
      await this.fill(page, { username: this.options.user, password });
      await this.submit(page, "Accedi", 200);
      await this.expect(page, new URL(page.url()).pathname === "/ufficio", "the desk after the login");
    });
    await this.check(page, "ufficio-pratiche");

    await this.step(page, "ask for a case without a reason", async () => {
      await this.fill(page, { q: cf });
      await this.submit(page, "Apri la pratica", 422);
      await this.expect(page, !(await page.content()).includes("Decisione"), "nothing of the case without a reason");
    });
    await this.check(page, "ufficio-pratica-errore");
    await this.step(page, "open the case with a reason", async () => {
      await this.fill(page, { q: cf, motivo: "verifica della domanda su richiesta del cittadino" });
      await this.submit(page, "Apri la pratica", 200);
      await this.expect(page, (await page.content()).includes(cf), `the case of ${cf}`);
    });
    await this.check(page, "ufficio-pratica");

    await this.visit(page, "ufficio-cruscotto", "/ufficio/cruscotto");
    await this.step(page, "read the dashboard", async () => {
      await page.locator("#rate-total").waitFor();
      await page.locator("#per-minute").waitFor();
    });

    await this.visit(page, "ufficio-accesso", "/ufficio/accesso");
    await this.step(page, "prepare the subject access report", async () => {
      await this.fill(page, { cf, motivo: "richiesta di accesso art. 15 n. 1" });
      await this.submit(page, "Prepara il riepilogo", 200);
      await this.expect(page, (await page.content()).includes(cf), `the report about ${cf}`);
    });
    await this.check(page, "ufficio-accesso-riepilogo");

    await this.visit(page, "ufficio-violazioni", "/ufficio/violazioni");
    await this.step(page, "assess a window", async () => {
      const now = new Date();
      const from = new Date(now.getTime() - 3600 * 1000).toISOString().slice(0, 16);
      const to = new Date(now.getTime() + 60 * 1000).toISOString().slice(0, 16);
      await this.fill(page, { dal: from, al: to });
      await this.submit(page, "Valuta", 200);
    });
    await this.check(page, "ufficio-violazioni-esito");

    await this.step(page, "log out", async () => {
      await this.submit(page, "Esci", 200);
      await this.expect(page, new URL(page.url()).pathname === "/ufficio/accedi", "the login page after the logout");
    });
    await context.close();
  }
}

const options = parseArgs(process.argv.slice(2));
runChecks("office.mjs", options, (browser, axeSource) => new Office(options, browser, axeSource));
