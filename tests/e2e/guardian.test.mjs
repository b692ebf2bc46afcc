// Minors and guardians in a real Chromium (issue #13): a 14-year-old signs in, gives their
// birthdate and a guardian's address on the consent pages, and waits; the guardian opens the
// mailed link in another browser context (opening it changes nothing) and agrees; the
// minor's waiting page continues by itself and the app gets a code whose tokens carry the
// age-checked purpose.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTessera, startClientApp, launchBrowser, authorizeUrl, pkce } from "./harness.mjs";

const tessera = await startTessera({ TESSERA_DEFAULT_COUNTRY: "DE" });
const app = await startClientApp();
const { browser, page } = await launchBrowser();
const policyFile = join(tessera.dataDir, "privacy.md");
writeFileSync(policyFile, "The privacy policy.\n");
tessera.cli("policy", "publish", "--id", "privacy", "--file", policyFile, "--summary", "First version");
tessera.cli(
  "purpose", "create", "--id", "marketing.email", "--name", "News by email", "--policy", "privacy",
  "--notice", "We mail you our news, at most weekly.", "--age-check",
);
const created = JSON.parse(
  tessera.cli(
    "client", "create", "--name", "Shop", "--redirect-uri", app.redirectUri,
    "--purpose", "marketing.email:optional", "--json",
  ),
);
const client = { ...created, redirect_uri: created.redirect_uris[0] };
after(async () => { await browser.close(); app.stop(); tessera.stop(); });

// The newest mail in the outbox, soft line breaks undone.
function newestMail() {
  const dir = join(tessera.dataDir, "outbox");
  const files = readdirSync(dir).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return readFileSync(files[0], "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
}

function yearsAgo(years) {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.toISOString().slice(0, 10);
}

test("a minor's age-checked purpose is granted after a guardian approves from the mailed link", async () => {
  const { verifier, challenge } = pkce();
  const url = new URL(authorizeUrl(tessera.issuer, client, challenge, "g1"));
  url.searchParams.set("scope", "openid email purpose:marketing.email");
  await page.goto(url.toString());
  await page.fill("#email", "minor@example.com");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Check your mail");
  await page.fill("#code", tessera.lastCode());
  await page.click("form[action='/login/email/code'] button[type=submit]");
  await page.waitForSelector("#passkey-skip");
  await page.click("#passkey-skip");

  // The consent page asks for the birthdate, with the reason.
  await page.waitForSelector("input[name='claim.birthdate']");
  assert.match(await page.content(), /agreement below a certain age/);
  await page.fill("input[name='claim.birthdate']", yearsAgo(14));
  await page.check("input[name='purpose.marketing.email']");
  await page.click("button[name=decision][value=allow]");

  // Under 16 in Germany: a guardian's address, then the waiting page.
  await page.waitForSelector("input[name=email]");
  assert.match(await page.content(), /News by email/);
  await page.fill("input[name=email]", "parent@example.com");
  await page.click("text=Ask them");
  await page.waitForSelector("text=We asked your parent or guardian");

  const mail = newestMail();
  assert.match(mail, /parent@example\.com/);
  assert.match(mail, /We mail you our news, at most weekly\./);
  const link = /(http:\/\/localhost:\d+\/guardian\?token=[A-Za-z0-9_-]{43})/.exec(mail)[1];

  // The guardian, in another browser context: the page shows, the button acts.
  const guardianContext = await browser.newContext();
  const guardian = await guardianContext.newPage();
  await guardian.goto(link);
  assert.match(await guardian.content(), /m\*\*\*@example\.com/);
  assert.match(await guardian.content(), /News by email/);
  await guardian.click("button[name=decision][value=approve]");
  await guardian.waitForSelector("text=you agreed");
  await guardianContext.close();

  // The minor's waiting page reloads by itself and lands on the app with a code.
  await page.waitForURL((u) => u.toString().startsWith(client.redirect_uri), { timeout: 30_000 });
  const params = new URL(page.url()).searchParams;
  assert.equal(params.get("state"), "g1");
  const res = await fetch(`${tessera.issuer}/token`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64"),
    },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: client.redirect_uri,
      code_verifier: verifier,
    }),
  });
  const tokens = await res.json();
  assert.equal(res.status, 200, JSON.stringify(tokens));
  assert.match(tokens.scope, /purpose:marketing\.email/);
});
