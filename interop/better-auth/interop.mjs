// Better Auth's own client library against a running TaskFlow: sign up, sign
// in, get the session, get a token, call /api/tasks with it, sign out.
// TASKFLOW_URL is TaskFlow's base URL. Node keeps no cookies, so a small jar
// stands in for the browser's, and Origin is sent as a browser would.
import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";
import assert from "node:assert/strict";

const base = process.env.TASKFLOW_URL;
assert.ok(base, "set TASKFLOW_URL");
const jar = new Map();

async function browserFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("Origin", new URL(base).origin);
  if (jar.size) headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
  const res = await fetch(input, { ...init, headers });
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(";");
    const i = pair.indexOf("=");
    const name = pair.slice(0, i).trim(), value = pair.slice(i + 1).trim();
    if (attrs.some((a) => a.trim().toLowerCase() === "max-age=0") || value === "") jar.delete(name);
    else jar.set(name, value);
  }
  return res;
}

const client = createAuthClient({ baseURL: base, plugins: [jwtClient()], fetchOptions: { customFetchImpl: browserFetch } });
const email = `interop-${Date.now()}@example.com`;
const password = "interop password 42";

let r = await client.signUp.email({ name: "Interop", email, password });
assert.equal(r.error, null, JSON.stringify(r.error));
assert.equal(r.data.user.email, email);
const id = r.data.user.id;

r = await client.signUp.email({ name: "Weak", email: `weak-${email}`, password: "short" });
assert.equal(r.error?.status, 400);
assert.equal(r.error?.code, "PASSWORD_TOO_SHORT");

r = await client.signIn.email({ email, password: "wrong password!" });
assert.equal(r.error?.status, 401);
assert.equal(r.error?.code, "INVALID_EMAIL_OR_PASSWORD");

r = await client.signIn.email({ email, password });
assert.equal(r.error, null, JSON.stringify(r.error));
assert.equal(r.data.user.id, id);

r = await client.getSession();
assert.equal(r.error, null, JSON.stringify(r.error));
assert.equal(r.data.user.id, id);
assert.equal(r.data.session.userId, id);

r = await client.token();
assert.equal(r.error, null, JSON.stringify(r.error));
const token = r.data.token;
assert.equal(JSON.parse(Buffer.from(token.split(".")[1], "base64url")).sub, id);

r = await client.jwks();
assert.equal(r.error, null, JSON.stringify(r.error));
assert.ok(r.data.keys.some((k) => k.kty === "OKP" && k.crv === "Ed25519"));

const bearer = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
let res = await fetch(`${base}/api/tasks`, { method: "POST", headers: bearer, body: JSON.stringify({ title: "from Better Auth" }) });
assert.equal(res.status, 201, await res.clone().text());
res = await fetch(`${base}/api/tasks`, { headers: bearer });
assert.equal(res.status, 200);
const list = await res.json();
assert.ok(JSON.stringify(list).includes("from Better Auth"));

r = await client.signOut();
assert.equal(r.error, null, JSON.stringify(r.error));
r = await client.getSession();
assert.equal(r.data, null);
console.log("better-auth interop: ok");
