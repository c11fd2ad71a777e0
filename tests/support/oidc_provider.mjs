#!/usr/bin/env node
// Standalone OpenID Connect provider for the test suite (oidc-provider v9).
//
// Configuration (environment variable OIDC_PROVIDER_CONFIG holds JSON, command-line
// options override it):
//
//   OIDC_PROVIDER_CONFIG='{"port": 0, "clients": [{"client_id": "...",
//       "client_secret": "...", "redirect_uris": ["http://127.0.0.1:5000/cb"]}]}'
//
//   --port N                   listen port on 127.0.0.1 (0 = pick a free one, the default)
//   --client-id ID             adds / replaces a single client (with the two options below)
//   --client-secret SECRET
//   --redirect-uri URI         repeatable
//   --exit-on-stdin-eof        exit when stdin is closed (used by tests/support/oidc.py so
//                              that the provider never outlives the test process)
//
// Once listening it prints exactly one line `READY <issuer>` on stdout, where the issuer is
// `http://127.0.0.1:PORT`. Diagnostics (including oidc-provider's development-only notices)
// go to stderr.
//
// Interactions: oidc-provider's built-in development interactions (devInteractions) are
// used. The login page (`/interaction/:uid`) is a form with `login` and `password` fields
// (any password is accepted); the consent page is a form with a single "Continue" button
// which grants every requested scope and claim.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

function fail(message) {
  process.stderr.write(`oidc_provider.mjs: ${message}\n`);
  process.exit(2);
}

function loadConfig() {
  let config = {};
  const raw = process.env.OIDC_PROVIDER_CONFIG;
  if (raw) {
    try {
      config = JSON.parse(raw);
    } catch (err) {
      fail(`OIDC_PROVIDER_CONFIG is not valid JSON: ${err.message}`);
    }
  }

  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'exit-on-stdin-eof': { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(err.message);
  }

  const port = Number(parsed.port ?? config.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`invalid port: ${parsed.port ?? config.port}`);
  }

  let clients = Array.isArray(config.clients) ? config.clients : [];
  if (parsed['client-id']) {
    clients = clients.filter((c) => c.client_id !== parsed['client-id']);
    clients.push({
      client_id: parsed['client-id'],
      client_secret: parsed['client-secret'],
      redirect_uris: parsed['redirect-uri'] ?? [],
    });
  }
  if (clients.length === 0) {
    fail('no client configured (use OIDC_PROVIDER_CONFIG or --client-id/--redirect-uri)');
  }

  clients = clients.map((c) => {
    if (!c.client_id || !c.client_secret) {
      fail('every client needs a client_id and a client_secret');
    }
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) {
      fail(`client ${c.client_id} needs at least one redirect URI`);
    }
    return {
      client_id: String(c.client_id),
      client_secret: String(c.client_secret),
      redirect_uris: c.redirect_uris.map(String),
      post_logout_redirect_uris: (c.post_logout_redirect_uris ?? []).map(String),
      application_type: 'web',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    };
  });

  return {
    port,
    clients,
    exitOnStdinEof: Boolean(parsed['exit-on-stdin-eof'] ?? config.exit_on_stdin_eof),
  };
}

// Accounts: any login name is accepted; the subject is the login name itself.
function findAccount(ctx, id) {
  const login = String(id);
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        email: `${login}@example.test`,
        email_verified: !login.startsWith('unverified-'),
        name: login,
      };
    },
  };
}

function signingKeys() {
  // A fresh RSA key per run (RS256 is the default id_token algorithm). Supplying it avoids
  // the provider's "development-only signing keys" notice.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: 'test-rs256', alg: 'RS256', use: 'sig' }] };
}

async function main() {
  const config = loadConfig();

  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: config.clients,
    findAccount,
    jwks: signingKeys(),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    scopes: ['openid', 'email', 'profile'],
    // Put the scope-derived claims (email, name, ...) in the ID token as well, not only in
    // the userinfo response.
    conformIdTokenClaims: false,
    pkce: {
      // Supported (S256 only) for every client; required only when the client sends it.
      required: () => false,
    },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Cookies are `secure` only when the request itself is over https: plain http on
      // 127.0.0.1 works.
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: false },
      introspection: { enabled: false },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const rows = Object.entries(out)
        .map(([key, value]) => `<p>${esc(key)}: ${esc(value)}</p>`)
        .join('\n');
      ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Error</title></head>'
        + `<body><h1>oops! something went wrong</h1>\n${rows}\n</body></html>`;
    },
  });

  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc_provider.mjs: server_error: ${err.stack ?? err}\n`);
  });

  server.on('request', provider.callback());

  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (config.exitOnStdinEof) {
    process.stdin.on('end', shutdown);
    process.stdin.on('close', shutdown);
    process.stdin.resume();
  }

  process.stdout.write(`READY ${issuer}\n`);
}

main().catch((err) => {
  process.stderr.write(`oidc_provider.mjs: ${err.stack ?? err}\n`);
  process.exit(1);
});
