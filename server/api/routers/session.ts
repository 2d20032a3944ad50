import { procedure, createRouter } from "../trpc";

export const sessionRouter = createRouter({
  /** The caller as the server sees it: for the console's header and for services to check a key. */
  whoami: procedure("authenticated").query(({ ctx }) => {
    const a = ctx.actor;
    return a.kind === "user"
      ? { kind: "user" as const, id: a.userId, email: a.email, name: a.name, roles: a.roles, permissions: [...a.permissions].sort() }
      : { kind: "service" as const, id: a.keyId, name: a.name, permissions: [...a.permissions].sort() };
  }),
});
