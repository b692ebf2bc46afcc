// node-oidc-provider 9, configured for the same work as Tessera's load benchmark
// (benches/load): one confidential client (client_secret_basic) allowed the code flow,
// refresh_token and client_credentials; ES256 ID tokens; rotating refresh tokens issued
// without offline_access; introspection and userinfo on; Tessera's default lifetimes
// (src/config.rs); a signed-in session with a consent grant made at start, so /authorize
// answers with a code at once and no page is ever shown.
//
// Run: PORT=3999 node server.mjs  (prints one JSON line: issuer, client, session cookie, pid;
// with PEER_INFO=FILE it also writes that line to FILE). See README.md.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 3999);
const issuer = `http://127.0.0.1:${port}`;
const clientId = 'bench';
// The Basic header carries this form-urlencoded (RFC 6749 §2.3.1): `:`, `%`, `+` and a space
// prove the driver encodes it (and that this provider decodes it).
const clientSecret = process.env.PEER_CLIENT_SECRET ?? `s3cret:with%odd+chars ${randomBytes(8).toString('hex')}`;
const redirectUri = 'http://127.0.0.1:9/cb';
const accountId = 'bench-customer';

// Tessera's defaults (src/config.rs): code 60 s, access token 600 s, ID token 3600 s,
// refresh token 30 days, session 1 day.
const ttl = {
  AuthorizationCode: 60,
  AccessToken: 600,
  ClientCredentials: 600,
  IdToken: 3600,
  RefreshToken: 30 * 86400,
  Session: 86400,
  Grant: 90 * 86400,
  Interaction: 1800,
};

// An in-memory store without a size bound. The bundled MemoryAdapter is an LRU of 1000
// entries that also rescans every token of a grant on each write (all the benchmark's tokens
// share one grant): it would evict the session and grow slower during a run. This one keeps
// expiry per entry and a grant's tokens in a Set, so the peer is measured at its best.
const store = new Map(); // key -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of keys
const sessionUids = new Map(); // uid -> id
const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session') sessionUids.set(payload.uid, id);
    if (grantable.has(this.model) && payload.grantId) {
      let members = grantMembers.get(payload.grantId);
      if (!members) grantMembers.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const payload = live(key);
    store.delete(key);
    if (payload?.grantId) grantMembers.get(payload.grantId)?.delete(key);
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// Expired entries go once a minute (a token's own find already ignores them).
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.delete(key);
  }
}, 60_000).unref();

const signingKey = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: 'bench-es256',
  alg: 'ES256',
  use: 'sig',
};

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: 'bench@example.com', email_verified: true }),
  }),
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
  },
  // Interactions happen only once, at start (bootstrap below): the /interaction route signs
  // the bench customer in and grants every scope the benchmark may ask for.
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Refresh tokens for the bench client whatever the scope (Tessera issues them without
  // offline_access too), rotated on every use (the old one is consumed; its reuse revokes).
  issueRefreshToken: async (_ctx, client) => client.clientId === clientId && client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  pkce: { required: () => true },
  ttl,
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const result = {};
  if (details.prompt.name === 'login') {
    result.login = { accountId };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId });
    grant.addOIDCScope('openid email offline_access');
    grant.addOIDCClaims(['email', 'email_verified']);
    result.consent = { grantId: await grant.save() };
  }
  return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
});

// Sign in once as a browser would (authorize → login interaction → consent interaction →
// code), keeping the session cookies the driver then sends with every /authorize.
async function bootstrap() {
  const jar = new Map();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  let url = `${issuer}/auth?${new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid email offline_access',
    prompt: 'consent', state: 'bootstrap', nonce: 'bootstrap', code_challenge: challenge, code_challenge_method: 'S256',
  })}`;
  for (let hop = 0; hop < 12; hop += 1) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: { cookie } });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(set)) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`bootstrap stopped at ${url}: ${res.status} ${await res.text()}`);
    if (location.startsWith(redirectUri)) {
      if (!new URL(location).searchParams.get('code')) throw new Error(`bootstrap ended without a code: ${location}`);
      return [...jar].filter(([k]) => k.startsWith('_session')).map(([k, v]) => `${k}=${v}`).join('; ');
    }
    url = new URL(location, url).href;
  }
  throw new Error('bootstrap: too many redirects');
}

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', async () => {
  try {
    const cookie = await bootstrap();
    const info = JSON.stringify({
      issuer, client_id: clientId, client_secret: clientSecret, redirect_uri: redirectUri, cookie, pid: process.pid,
    });
    if (process.env.PEER_INFO) writeFileSync(process.env.PEER_INFO, `${info}\n`);
    console.log(info);
  } catch (e) {
    console.error(e);
    process.exit(1);
  }
});
