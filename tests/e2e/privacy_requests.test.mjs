// Privacy requests in a real Chromium: a copy of one's data (confirmed with the mailed code,
// downloaded once from the mailed link) and deleting the account (cancelled once, then
// erased by the worker; the grace period is 0 days in this run).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startTessera, launchBrowser } from "./harness.mjs";

const tessera = await startTessera({ TESSERA_DELETION_GRACE_DAYS: "0", TESSERA_WORKER_INTERVAL_MS: "100" });
const { browser, page } = await launchBrowser();
after(async () => { await browser.close(); tessera.stop(); });

// The newest mail written since `since` (ms) whose text matches `re`, decoded from
// quoted-printable.
function newestMail(re, since) {
  const dir = join(tessera.dataDir, "outbox");
  const files = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const f of files) {
    const text = readFileSync(f, "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
    const m = re.exec(text);
    if (m) return m;
  }
  return null;
}

async function waitForMail(re, since) {
  for (let i = 0; i < 100; i++) {
    const m = newestMail(re, since);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail matching ${re}`);
}

async function signIn(email) {
  await page.goto(`${tessera.issuer}/login`);
  await page.fill("#email", email);
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Check your mail");
  await page.fill("#code", tessera.lastCode());
  await page.click("form[action='/login/email/code'] button[type=submit]");
  await page.waitForSelector("#passkey-skip");
  await page.click("#passkey-skip");
}

// File `kind`, type the mailed code; returns when the request is filed.
async function fileConfirmed(kind) {
  await page.goto(`${tessera.issuer}/account/privacy/requests`);
  const since = Date.now() - 1000;
  await page.click(`form:has(input[name=kind][value=${kind}]) button[type=submit]`);
  await page.waitForSelector("text=We mailed a 6-digit code");
  const code = (await waitForMail(/type this code on the page that asked for it: (\d{6})/, since))[1];
  await page.fill("#code", code);
  await page.click("form[action='/account/privacy/requests/confirm'] button[type=submit]");
  // Filed: the requests page (or, after an immediate erasure, the sign-in page).
  await page.waitForURL((u) => u.search.includes("done=filed") || u.pathname === "/login");
}

test("a customer downloads a copy of their data once", async () => {
  await signIn("export-e2e@example.com");
  const since = Date.now() - 1000;
  await fileConfirmed("access_export");
  await page.waitForSelector("text=We received your request");
  const token = (await waitForMail(/\/account\/privacy\/export\?token=([A-Za-z0-9_-]{43})/, since))[1];
  await page.goto(`${tessera.issuer}/account/privacy/export?token=${token}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("form[action='/account/privacy/export'] button")]);
  const archive = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(archive.profile.email, "export-e2e@example.com");
  assert.ok(archive.sessions.length >= 1);
  assert.equal(archive.privacy_requests[0].kind, "access_export");
  const again = await page.goto(`${tessera.issuer}/account/privacy/export?token=${token}`);
  assert.equal(again.status(), 400);
});

test("a customer deletes their account", async () => {
  await signIn("delete-e2e@example.com");
  const since = Date.now() - 1000;
  await fileConfirmed("deletion");
  // Erased by the worker (no grace period in this run): the session ends with the account.
  for (let i = 0; i < 100; i++) {
    const res = await page.goto(`${tessera.issuer}/account/privacy/requests`);
    if (new URL(page.url()).pathname === "/login" || res.status() === 303) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(new URL(page.url()).pathname, "/login");
  await waitForMail(/Your account was deleted/, since);
  const listed = JSON.parse(tessera.cli("privacy-requests", "list", "--status", "completed", "--json"));
  const erased = listed.find((r) => r.kind === "deletion");
  assert.match(erased.customer_id, /^anon_/);
});
