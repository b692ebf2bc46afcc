// `form-action 'self'` in a real Chromium: Chrome checks that directive against every
// redirect after a form submission, and the consent form's submission ends at the client
// (another origin). Tessera answers a browser's form submission with a page that moves on
// by itself, so the person still lands on the client with a code.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTessera, startClientApp, launchBrowser, authorizeUrl, pkce } from "./harness.mjs";

const tessera = await startTessera();
const app = await startClientApp();
const { browser, page } = await launchBrowser();
const created = JSON.parse(
  tessera.cli("client", "create", "--name", "Shop", "--redirect-uri", app.redirectUri, "--consent-required", "--json"),
);
const client = { ...created, redirect_uri: created.redirect_uris[0] };
after(async () => { await browser.close(); app.stop(); tessera.stop(); });

test("the consent form's answer reaches the client under form-action 'self'", async () => {
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  const { challenge } = pkce();
  const res = await page.goto(authorizeUrl(tessera.issuer, client, challenge, "fa1"));
  assert.match(res.headers()["content-security-policy"], /form-action 'self'/);
  await page.fill("#email", "form-action@example.com");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Check your mail");
  await page.fill("#code", tessera.lastCode());
  await page.click("form[action='/login/email/code'] button[type=submit]");
  await page.waitForSelector("#passkey-skip");
  await page.click("#passkey-skip");
  await page.waitForSelector("button[name=decision][value=allow]");
  await page.click("button[name=decision][value=allow]");
  await page.waitForURL((u) => u.toString().startsWith(client.redirect_uri));
  const params = new URL(page.url()).searchParams;
  assert.equal(params.get("state"), "fa1");
  assert.ok(params.get("code"));
  assert.deepEqual(violations, []);
});
