/**
 * Shared by the auth, admin, CSRF and service-key integration tests: users, session cookies and
 * raw HTTP calls to the tRPC handler.
 */
import { encode } from "next-auth/jwt";
import superjson from "superjson";
import { resetEnvForTests } from "../../server/env";
import type { DbHandles } from "../../server/db/client";
import { upsertDemoUser, type UserItem } from "../../server/admin/users";
import { userActor, type Actor } from "../../server/core/actor";
import type { RoleName } from "../../server/core/permissions";
import { createTrpcHttpHandler } from "../../server/api/http-handler";

export const TEST_SECRET = "test-nextauth-secret-0123456789abcdef0123456789";
export const APP_ORIGIN = "http://console.test:3000";

// The handler reads the session secret through env(); tests set it before anything caches env.
process.env.NEXTAUTH_SECRET = TEST_SECRET;
delete process.env.NEXTAUTH_URL;
delete process.env.APP_ORIGIN;
resetEnvForTests();

export async function makeUser(db: DbHandles, email: string, roles: RoleName[], password: string | null = null): Promise<UserItem> {
  return (await upsertDemoUser(db, { email, name: email.split("@")[0]!, roles, password })).user;
}

export function actorOf(u: UserItem): Actor {
  return userActor({ id: u.id, email: u.email, name: u.name, roles: u.roles });
}

export async function sessionCookieFor(userId: string): Promise<string> {
  const jwt = await encode({ token: { sub: userId }, secret: TEST_SECRET, maxAge: 3600 });
  return `next-auth.session-token=${jwt}`;
}

export function httpHandler(db: DbHandles) {
  return createTrpcHttpHandler({ getDb: () => db, appOrigin: APP_ORIGIN });
}

export function mutationRequest(path: string, input: unknown, headers: Record<string, string>, body?: string): Request {
  return new Request(`${APP_ORIGIN}/api/trpc/${path}`, {
    method: "POST",
    headers,
    body: body ?? JSON.stringify(superjson.serialize(input)),
  });
}

export function queryRequest(path: string, input: unknown, headers: Record<string, string>): Request {
  const qs = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  return new Request(`${APP_ORIGIN}/api/trpc/${path}${qs}`, { method: "GET", headers });
}

/** The `result.data` of a successful tRPC response, deserialised. */
export async function resultOf<T>(res: Response): Promise<T> {
  const body = (await res.json()) as { result?: { data: Parameters<typeof superjson.deserialize>[0] }; error?: unknown };
  if (!body.result) throw new Error(`expected a result, got ${res.status} ${JSON.stringify(body)}`);
  return superjson.deserialize<T>(body.result.data);
}

export async function errorOf(res: Response): Promise<{ code?: string; message?: string; data?: { code?: string; fieldErrors?: { path: string }[] | null; appCode?: string } }> {
  const body = (await res.json()) as { error?: { json?: unknown; code?: string; message?: string } };
  if (!body.error) throw new Error(`expected an error, got ${res.status} ${JSON.stringify(body)}`);
  // Every error, a procedure's or a refusal before routing, is superjson-wrapped ({ json: ... })
  // with a JSON-RPC number in `code` and the HTTP-style name in `data.code`; `code` here is the name.
  const e = (body.error.json ?? body.error) as { code?: unknown; data?: { code?: string } };
  return { ...e, code: e.data?.code ?? (typeof e.code === "string" ? e.code : undefined) } as never;
}
