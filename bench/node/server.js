// Setup (d) of `make bench`: the backend of the seed (a Koa service that
// verifies its own JWTs with jsonwebtoken and jwks-rsa), written for the
// benchmark. It answers GET /protected with 200 and the verified claims, and
// 401 otherwise, like the seed; it checks what edgejwt and jwt_authn check in
// setups (b) and (c): RS256 only, issuer, audience, and an exp that must be
// present and not past.
//
// Configuration (environment): BENCH_ISSUER, BENCH_AUDIENCE, BENCH_JWKS_URI,
// BENCH_PORT. It listens on 127.0.0.1 only.
"use strict";

const Koa = require("koa");
const Router = require("@koa/router");
const jwt = require("jsonwebtoken");
const jwksClient = require("jwks-rsa");

const ISSUER = process.env.BENCH_ISSUER;
const AUDIENCE = process.env.BENCH_AUDIENCE;
const JWKS_URI = process.env.BENCH_JWKS_URI;
const PORT = Number(process.env.BENCH_PORT || 3000);
if (!ISSUER || !AUDIENCE || !JWKS_URI) {
  console.error("server.js: BENCH_ISSUER, BENCH_AUDIENCE and BENCH_JWKS_URI are required");
  process.exit(2);
}

// The seed's JWKS client: keys cached for 10 minutes.
const client = jwksClient({
  jwksUri: JWKS_URI,
  cache: true,
  cacheMaxAge: 600000,
});

function getKey(header) {
  return new Promise((resolve, reject) => {
    client.getSigningKey(header.kid, (err, key) => {
      if (err) {
        return reject(err);
      }
      resolve(key.getPublicKey());
    });
  });
}

async function validateJwt(ctx, next) {
  const authHeader = ctx.headers.authorization;
  const token = authHeader && authHeader.replace("Bearer ", "");
  if (!token) {
    ctx.status = 401;
    ctx.body = { error: "No token provided" };
    return;
  }
  try {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded) {
      throw new Error("jwt malformed");
    }
    const key = await getKey(decoded.header);
    const claims = jwt.verify(token, key, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    // jsonwebtoken checks exp when present; edgejwt and jwt_authn (as
    // configured by the benchmark) also refuse a token without one.
    if (typeof claims.exp !== "number") {
      throw new Error("jwt has no exp");
    }
    ctx.state.user = claims;
  } catch (err) {
    ctx.status = 401;
    ctx.body = { error: "Invalid token", details: err.message };
    return;
  }
  await next();
}

const app = new Koa();
const router = new Router();

router.get("/protected", validateJwt, (ctx) => {
  ctx.body = {
    message: "Access granted",
    user: ctx.state.user,
  };
});

app.use(router.routes()).use(router.allowedMethods());

app.listen(PORT, "127.0.0.1", () => {
  console.log(`bench node server listening on http://127.0.0.1:${PORT}`);
});
