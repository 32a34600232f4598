// A third-party OpenID provider for Sportello's SPID/CIE relying party: panva's oidc-provider, configured from the
// JSON file named on the command line (written by crates/web/tests/it/oidc_provider.rs), listening on loopback.
//
// What the SPID/CIE profile needs and oidc-provider does not do by itself is added here, in the open:
// - the entity configuration at /.well-known/openid-federation, signed in Rust by the provider's federation key;
// - `at_hash` in the ID token the token endpoint issues (REQUIRED by the profile, OPTIONAL in OIDC Core): the
//   account's claims hand oidc-provider the access token, and oidc-provider hashes it as it does for the implicit
//   flow;
// - the login itself: the configured account is logged in at the configured acr, and every scope and claim asked
//   for is granted, without any page (the provider's login UI is not what the tests look at).
//
// `misbehave` names one way to break the profile, done by Koa middleware around the token and userinfo endpoints:
//   nonce, expired, future, audience    the ID token re-signed with the provider's key, one claim changed;
//   alg_none                            the ID token sent unsigned (`alg: none`);
//   userinfo_tampered                   one byte of the userinfo JWE's ciphertext flipped;
//   no_fiscal_number                    the account released without its fiscal number.
// A replayed code and a lower acr need no middleware: oidc-provider refuses a code's reuse itself, and the login's
// acr is the configuration's.

import { readFileSync } from 'node:fs';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const FISCAL_NUMBER = 'https://attributes.eid.gov.it/fiscal_number';
const ACRS = ['https://www.spid.gov.it/SpidL1', 'https://www.spid.gov.it/SpidL2', 'https://www.spid.gov.it/SpidL3'];
const MODES = new Set([
  'none', 'nonce', 'expired', 'future', 'audience', 'alg_none', 'userinfo_tampered', 'no_fiscal_number',
]);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const misbehave = config.misbehave ?? 'none';
if (!MODES.has(misbehave)) {
  throw new Error(`unknown misbehave mode '${misbehave}'`);
}
const { account } = config;

const provider = new Provider(config.issuer, {
  clients: [config.client],
  jwks: { keys: [config.signing_key] },
  acrValues: ACRS,
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub', 'at_hash'],
    given_name: null,
    family_name: null,
    email: null,
    [FISCAL_NUMBER]: null,
  },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    requestObjects: { enabled: true, requireSignedRequestObject: true },
    encryption: { enabled: true },
    jwtUserinfo: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  cookies: { keys: [crypto.randomUUID()] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    if (sub !== account.sub) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims(use) {
        const claims = { sub, given_name: account.given_name, family_name: account.family_name, email: account.email };
        if (misbehave !== 'no_fiscal_number') {
          claims[FISCAL_NUMBER] = account.fiscal_number;
        }
        // The access token issued with this ID token: oidc-provider turns it into its hash.
        const accessToken = ctx.oidc.entities.AccessToken;
        if (use === 'id_token' && accessToken) {
          claims.at_hash = accessToken.jti;
        }
        return claims;
      },
    };
  },
});

const signingKey = await jose.importJWK(config.signing_key, 'RS256');

/** The ID token `token`, its claims changed by `change`, signed again with the provider's key. */
async function resign(token, change) {
  const header = jose.decodeProtectedHeader(token);
  const claims = change(jose.decodeJwt(token));
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(signingKey);
}

async function misbehaveAtToken(idToken) {
  const now = Math.floor(Date.now() / 1000);
  switch (misbehave) {
    case 'nonce':
      return resign(idToken, (c) => ({ ...c, nonce: 'not-the-nonce-sportello-sent' }));
    case 'expired':
      return resign(idToken, (c) => ({ ...c, iat: now - 7200, exp: now - 3600 }));
    case 'future':
      return resign(idToken, (c) => ({ ...c, iat: now + 3600, exp: now + 7200 }));
    case 'audience':
      return resign(idToken, (c) => ({ ...c, aud: 'https://another-relying-party.example' }));
    case 'alg_none': {
      const header = jose.base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const payload = jose.base64url.encode(JSON.stringify(jose.decodeJwt(idToken)));
      return `${header}.${payload}.`;
    }
    default:
      return idToken;
  }
}

/** The compact JWE `jwe` with the first byte of its ciphertext flipped. */
function tamper(jwe) {
  const parts = jwe.split('.');
  const ciphertext = Buffer.from(parts[3], 'base64url');
  ciphertext[0] ^= 0x01;
  parts[3] = ciphertext.toString('base64url');
  return parts.join('.');
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-federation') {
    ctx.type = 'application/entity-statement+jwt';
    ctx.body = config.entity_configuration;
    return;
  }
  if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    await interact(ctx);
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await misbehaveAtToken(ctx.body.id_token) };
  }
  if (ctx.path === '/me' && ctx.status === 200 && misbehave === 'userinfo_tampered' && typeof ctx.body === 'string') {
    ctx.body = tamper(ctx.body);
  }
});

/** Logs the configured account in at the configured acr, then grants whatever the request asked for. */
async function interact(ctx) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: account.sub, acr: config.acr, amr: ['pwd', 'otp'] } };
  } else if (prompt.name === 'consent') {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) {
      grant.addOIDCScope(missingOIDCScope.join(' '));
    }
    if (missingOIDCClaims) {
      grant.addOIDCClaims(missingOIDCClaims);
    }
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    throw new Error(`no automatic answer to the prompt '${prompt.name}'`);
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer} (misbehave: ${misbehave})`);
});
