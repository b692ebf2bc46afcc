// Webhooks checked by an independent implementation of Standard Webhooks: the
// `standardwebhooks` npm package verifies what Tessera sends to a receiver on loopback. The
// endpoint is registered with the CLI, and a real action (a new customer's email sign-in in
// Chromium) makes the events; the server's background worker delivers them.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { startTessera, startClientApp, launchBrowser, authorizeUrl, pkce } from "./harness.mjs";

// Loopback receivers are a private network: allowed here as for development.
const tessera = await startTessera({ TESSERA_FEDERATION_ALLOW_PRIVATE_NETWORKS: "true" });
const app = await startClientApp();
const { browser, page } = await launchBrowser();

// The receiver keeps each request's raw body and headers, and answers 204.
const received = [];
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
after(async () => { await browser.close(); app.stop(); receiver.close(); tessera.stop(); });

async function waitFor(count) {
  const deadline = Date.now() + 30_000;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${received.length} webhook requests arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("events of a new customer's sign-in arrive signed, and the package verifies them", async () => {
  const endpoint = JSON.parse(tessera.cli(
    "webhook", "create", "--url", hookUrl,
    "--event-type", "customer.created", "--event-type", "session.started", "--json",
  ));
  assert.match(endpoint.secret, /^whsec_/);
  const created = JSON.parse(tessera.cli("client", "create", "--name", "Shop", "--redirect-uri", app.redirectUri, "--public", "--json"));
  const client = { ...created, redirect_uri: created.redirect_uris[0] };

  const { challenge } = pkce();
  await page.goto(authorizeUrl(tessera.issuer, client, challenge, "wh1"));
  await page.fill("#email", "webhook-customer@example.com");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=Check your mail");
  await page.fill("#code", tessera.lastCode());
  await page.click("form[action='/login/email/code'] button[type=submit]");
  await page.waitForSelector("#passkey-skip");
  await page.click("#passkey-skip");
  await page.waitForURL((u) => u.toString().startsWith(client.redirect_uri));

  await waitFor(2);
  const wh = new Webhook(endpoint.secret);
  const payloads = received.map(({ body, headers }) => wh.verify(body, headers));
  assert.deepEqual(payloads.map((p) => p.type), ["customer.created", "session.started"]);
  assert.equal(payloads[0].data.customer_id, payloads[1].data.customer_id);
  assert.ok(!Number.isNaN(Date.parse(payloads[0].timestamp)));
  assert.equal(received[0].headers["webhook-id"].slice(0, 4), "evt_");

  // A body changed on the way fails verification; so does another endpoint's secret.
  const { body, headers } = received[0];
  assert.throws(() => wh.verify(body.replace("customer.created", "customer.updated"), headers));
  assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify(body, headers));
});

test("a test event sent from the command line verifies too", async () => {
  const endpoint = JSON.parse(tessera.cli("webhook", "create", "--url", hookUrl, "--event-type", "webhook.test", "--json"));
  const before = received.length;
  // The CLI sends it itself and waits for the answer: this process must stay free to answer.
  const delivery = JSON.parse(await tessera.cliAsync("webhook", "test", endpoint.id, "--json"));
  assert.equal(delivery.state, "delivered");
  assert.equal(delivery.attempts[0].status, 204);
  await waitFor(before + 1);
  const { body, headers } = received[before];
  const payload = new Webhook(endpoint.secret).verify(body, headers);
  assert.equal(payload.type, "webhook.test");
  assert.equal(payload.data.endpoint_id, endpoint.id);
});
