// A person in Chromium: email sign-in, create a passkey, log out, sign in with the passkey
// button (and the autofill request the login page starts), all the way to the client's
// redirect URI with a code that exchanges for tokens.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTessera, startClientApp, launchBrowser, authorizeUrl, pkce } from "./harness.mjs";

const tessera = await startTessera();
const app = await startClientApp();
const { browser, page, cdp, authenticatorId } = await launchBrowser();
const created = JSON.parse(tessera.cli("client", "create", "--name", "Shop", "--redirect-uri", app.redirectUri, "--json"));
const client = { ...created, redirect_uri: created.redirect_uris[0] };
after(async () => { await browser.close(); app.stop(); tessera.stop(); });

async function exchange(code, verifier) {
  const res = await fetch(`${tessera.issuer}/token`, {
    method: "POST",
    headers: {
      Authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64"),
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: client.redirect_uri, code_verifier: verifier }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const tokens = await res.json();
  return JSON.parse(Buffer.from(tokens.id_token.split(".")[1], "base64url").toString());
}

function callback(url) {
  const u = new URL(url);
  assert.equal(`${u.origin}${u.pathname}`, client.redirect_uri);
  return u.searchParams;
}

test("email sign-in, then create a passkey from the offer", async () => {
  const { verifier, challenge } = pkce();
  await page.goto(authorizeUrl(tessera.issuer, client, challenge, "s1"));
  await page.fill("#email", "e2e@example.com");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Check your mail");
  await page.fill("#code", tessera.lastCode());
  await page.click("form[action='/login/email/code'] button[type=submit]");
  await page.waitForSelector("text=Create a passkey for faster sign-in");
  await page.click("#passkey-create");
  await page.waitForURL((u) => u.toString().startsWith(client.redirect_uri));
  const params = callback(page.url());
  assert.equal(params.get("state"), "s1");
  assert.equal(params.get("iss"), tessera.issuer);
  const claims = await exchange(params.get("code"), verifier);
  assert.equal(claims.acr, "urn:tessera:acr:email");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true);
  await page.goto(`${tessera.issuer}/account`);
  await page.waitForSelector("text=Passkeys");
  assert.match(await page.textContent(".passkeys"), /Last used never/);
});

async function logOut() {
  await page.goto(`${tessera.issuer}/logout`);
  await page.click("button[name=confirm]");
  await page.waitForSelector("text=You are signed out.");
}

test("autofill: the login page's conditional request signs in with the passkey", async () => {
  await logOut();
  const { verifier, challenge } = pkce();
  const conditional = await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable());
  assert.equal(conditional, true, "Chromium offers conditional mediation");
  // The virtual authenticator answers the conditional request on the person's behalf (as
  // picking the passkey in the email field's autofill would): no click, nothing typed.
  await page.goto(authorizeUrl(tessera.issuer, client, challenge, "s2"));
  await page.waitForURL((u) => u.toString().startsWith(client.redirect_uri));
  const params = callback(page.url());
  assert.equal(params.get("state"), "s2");
  const claims = await exchange(params.get("code"), verifier);
  assert.equal(claims.acr, "urn:tessera:acr:passkey");
  assert.ok(claims.amr.includes("user"), JSON.stringify(claims.amr));
  assert.equal(claims.email, "e2e@example.com");
});

test("a browser without conditional mediation signs in with the passkey button", async () => {
  await logOut();
  const { verifier, challenge } = pkce();
  // From here on this page behaves like a browser that has no conditional mediation.
  await page.addInitScript(() => { delete PublicKeyCredential.isConditionalMediationAvailable; });
  await page.goto(authorizeUrl(tessera.issuer, client, challenge, "s3"));
  await page.waitForSelector("#passkey-button:not([hidden])");
  assert.equal(page.url().startsWith(client.redirect_uri), false, "nothing happened by itself");
  await page.click("#passkey-button");
  await page.waitForURL((u) => u.toString().startsWith(client.redirect_uri));
  const params = callback(page.url());
  assert.equal(params.get("state"), "s3");
  const claims = await exchange(params.get("code"), verifier);
  assert.equal(claims.acr, "urn:tessera:acr:passkey");
  await page.goto(`${tessera.issuer}/account`);
  assert.doesNotMatch(await page.textContent(".passkeys"), /Last used never/);
});
