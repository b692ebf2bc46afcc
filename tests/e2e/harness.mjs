// A real Tessera binary on loopback with its own data directory, a tiny client app that
// receives the authorization response, and Debian's Chromium with a virtual authenticator.
import { spawn, execFile, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const target = process.env.CARGO_TARGET_DIR || new URL("../../target", import.meta.url).pathname;
export const BIN = process.env.TESSERA_BIN || join(target, "debug", "tessera");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

// `extraEnv`: more TESSERA_* settings for this run.
export async function startTessera(extraEnv = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-e2e-"));
  const env = {
    ...process.env,
    TESSERA_ISSUER: `http://localhost:${port}`,
    TESSERA_LISTEN: `127.0.0.1:${port}`,
    TESSERA_DATA_DIR: dataDir,
    TESSERA_LOG: process.env.TESSERA_LOG || "warn",
    ...extraEnv,
  };
  const child = spawn(BIN, ["serve"], { env, stdio: ["ignore", "inherit", "inherit"] });
  const issuer = env.TESSERA_ISSUER;
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`${issuer}/.well-known/openid-configuration`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const cli = (...args) => execFileSync(BIN, args, { env }).toString();
  // Without blocking this process (for a command that calls back a server running here).
  const cliAsync = (...args) => new Promise((resolve, reject) => {
    execFile(BIN, args, { env }, (err, stdout) => (err ? reject(err) : resolve(stdout.toString())));
  });
  return {
    issuer,
    dataDir,
    cli,
    cliAsync,
    stop: () => child.kill("SIGTERM"),
    // The code from the newest sign-in mail in the outbox (in the body, never the subject).
    lastCode() {
      const dir = join(dataDir, "outbox");
      const files = readdirSync(dir).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      const mail = readFileSync(files[0], "utf8").replace(/=\r?\n/g, "");
      return /type this code on the sign-in page:\s+(\d{6})/.exec(mail)[1];
    },
  };
}

// The brand app's callback: answers every request with a plain page.
export async function startClientApp() {
  const port = await freePort();
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("client app");
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { redirectUri: `http://localhost:${port}/cb`, stop: () => server.close() };
}

export function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

export function authorizeUrl(issuer, client, challenge, state) {
  const u = new URL(`${issuer}/authorize`);
  u.search = new URLSearchParams({
    response_type: "code", client_id: client.client_id, redirect_uri: client.redirect_uri,
    scope: "openid email", state, nonce: randomBytes(8).toString("hex"),
    code_challenge: challenge, code_challenge_method: "S256",
  }).toString();
  return u.toString();
}

// Chromium with a platform authenticator that holds resident keys and verifies the user.
export async function launchBrowser() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { browser, context, page, cdp, authenticatorId };
}
