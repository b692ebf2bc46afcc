// A single-page app on another origin, using a maintained OpenID Connect client from npm
// (oidc-client-ts) as a public client: discovery, code + PKCE, the token request and
// UserInfo over CORS, a refresh, revocation and RP-initiated logout.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import net from "node:net";
import { chromium } from "playwright-core";
import { startTessera, CHROMIUM } from "./harness.mjs";

const library = readFileSync(new URL("./node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js", import.meta.url));

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const tessera = await startTessera();
const port = await freePort();
const origin = `http://localhost:${port}`;
const created = JSON.parse(tessera.cli(
  "client", "create", "--name", "SPA", "--public", "--json",
  "--redirect-uri", `${origin}/cb`, "--post-logout-redirect-uri", `${origin}/bye`,
));

// The app: one page that configures the library, and finishes the sign-in on /cb.
const page = `<!doctype html><meta charset="utf-8"><title>spa</title>
<script src="/oidc-client-ts.js"></script>
<script>
  window.mgr = new oidc.UserManager({
    authority: ${JSON.stringify(tessera.issuer)}, client_id: ${JSON.stringify(created.client_id)},
    redirect_uri: ${JSON.stringify(origin + "/cb")}, post_logout_redirect_uri: ${JSON.stringify(origin + "/bye")},
    response_type: "code", scope: "openid email", loadUserInfo: true, automaticSilentRenew: false,
  });
  if (location.pathname === "/cb") {
    mgr.signinRedirectCallback().then((u) => { window.user = u; document.title = "signed-in"; })
      .catch((e) => { window.failure = String(e); document.title = "failed"; });
  }
</script>`;
const app = createServer((req, res) => {
  if (req.url === "/oidc-client-ts.js") {
    res.writeHead(200, { "Content-Type": "text/javascript" });
    return res.end(library);
  }
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end(page);
});
await new Promise((r) => app.listen(port, "127.0.0.1", r));
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
const tab = await browser.newPage();
after(async () => { await browser.close(); app.close(); tessera.stop(); });

test("a public SPA signs in with PKCE, refreshes, reads UserInfo, revokes and logs out over CORS", async () => {
  await tab.goto(`${origin}/`);
  await tab.evaluate(() => { window.mgr.signinRedirect(); });
  await tab.waitForURL((u) => u.toString().startsWith(`${tessera.issuer}/login`));
  await tab.fill("#email", "spa@example.com");
  await tab.click("button[type=submit]");
  await tab.waitForSelector("text=Check your mail");
  await tab.fill("#code", tessera.lastCode());
  await tab.click("form[action='/login/email/code'] button[type=submit]");
  // The weekly passkey offer comes first: not now.
  await tab.waitForSelector("#passkey-skip");
  await tab.click("#passkey-skip");
  await tab.waitForFunction(() => document.title !== "spa", null, { timeout: 10000 });
  assert.equal(await tab.title(), "signed-in", await tab.evaluate(() => window.failure));
  const first = await tab.evaluate(() => ({
    email: window.user.profile.email, at: window.user.access_token, rt: window.user.refresh_token,
  }));
  assert.equal(first.email, "spa@example.com");
  assert.ok(first.at && first.rt, "an access token and a refresh token");

  // A refresh (the refresh_token grant, from the page's origin).
  const second = await tab.evaluate(async () => {
    const u = await window.mgr.signinSilent();
    return { at: u.access_token, rt: u.refresh_token, email: u.profile.email };
  });
  assert.notEqual(second.at, first.at);
  assert.notEqual(second.rt, first.rt, "refresh tokens rotate");
  assert.equal(second.email, "spa@example.com");

  // Revocation (RFC 7009) from the page: the refresh token stops working.
  await tab.evaluate(() => window.mgr.revokeTokens(["refresh_token"]));
  const refused = await tab.evaluate(async (issuer) => {
    const u = await window.mgr.getUser();
    const res = await fetch(`${issuer}/token`, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: u.refresh_token || "gone", client_id: u.profile.aud }),
    });
    return { status: res.status, body: await res.json() };
  }, tessera.issuer);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, "invalid_grant");

  // RP-initiated logout with the ID token as hint goes straight back to the app.
  await tab.evaluate(() => { window.mgr.signoutRedirect(); });
  await tab.waitForURL((u) => u.toString().startsWith(`${origin}/bye`));
  await tab.goto(`${tessera.issuer}/account`);
  await tab.waitForURL((u) => u.toString().startsWith(`${tessera.issuer}/login`));
});
