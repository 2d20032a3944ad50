import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import boundaries from "eslint-plugin-boundaries";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

/**
 * The layers of server/, bottom first (docs/architecture.md, "Layers"). A folder may import the
 * folders of the layers below its own, never those above or its neighbours in the same layer.
 * The partner sandbox is a simulated bank beside the product: it may use the partner protocol
 * (partners: types, settlement file format) and the foundation, nothing else. The composition
 * root (server/composition/) builds what spans the domains for the layers above it.
 */
const SERVER_LAYERS = [
  ["errors"],
  ["env", "core"],
  ["money", "observability", "platform"],
  ["db"],
  ["audit", "jobs"],
  ["auth"],
  ["admin"],
  ["ledger"],
  ["partners", "outbox"],
  ["approvals"],
  ["pricing"],
  ["transfers"],
  ["recon"],
  ["slo", "views"],
  ["composition"],
  ["sandbox"],
  ["demo"],
  ["api", "worker"],
];
const SANDBOX_MAY_USE = ["errors", "env", "core", "money", "observability", "platform", "db", "partners"];
const layerOf = new Map(SERVER_LAYERS.flatMap((names, i) => names.map((n) => [n, i])));
const ALL_FOLDERS = SERVER_LAYERS.flat();
/** What each folder must not import: higher layers and same-layer neighbours. */
function forbiddenFor(name) {
  if (name === "sandbox") return ALL_FOLDERS.filter((n) => n !== name && !SANDBOX_MAY_USE.includes(n));
  return ALL_FOLDERS.filter((n) => n !== name && layerOf.get(n) >= layerOf.get(name));
}

export default tseslint.config(
  { ignores: ["node_modules/**", ".next/**", "server/db/generated/**", ".data/**", "test-results/**", "playwright-report/**", "next-env.d.ts", "bench-results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { "react-hooks": reactHooks },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      // Money must never pass through a JS number: parseFloat is banned outright.
      "no-restricted-globals": ["error", { name: "parseFloat", message: "No floating point on money paths; use server/money." }],
      "no-restricted-properties": ["error", { object: "Number", property: "parseFloat", message: "No floating point on money paths; use server/money." }],
    },
  },
  {
    // Only server/env.ts reads process.env (launchers and tooling excepted).
    files: ["server/**/*.ts", "app/**/*.{ts,tsx}", "components/**/*.{ts,tsx}"],
    ignores: ["server/env.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through server/env.ts." },
        { object: "Number", property: "parseFloat", message: "No floating point on money paths; use server/money." },
      ],
    },
  },
  {
    // The layering of server/ (SERVER_LAYERS above): an import the wrong way fails lint, and so
    // does an import cycle between any two modules of server/.
    files: ["server/**/*.ts"],
    plugins: { boundaries, "import-x": importX },
    settings: {
      // server/env.ts is a file at the bottom that everything may import: it needs no element.
      "boundaries/elements": ALL_FOLDERS.filter((name) => name !== "env").map((name) => ({ type: name, pattern: `server/${name}` })),
      "import-x/resolver-next": [createTypeScriptImportResolver({ alwaysTryTypes: true })],
      "import-x/extensions": [".ts", ".tsx"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".tsx"] },
      "import/resolver": { typescript: { alwaysTryTypes: true } },
    },
    rules: {
      "boundaries/dependencies": [
        "error",
        {
          default: "allow",
          policies: ALL_FOLDERS.map((name) => ({
            from: { element: { type: name } },
            disallow: { to: { element: { types: { anyOf: forbiddenFor(name) } } } },
          })).filter((p) => p.disallow.to.element.types.anyOf.length > 0),
        },
      ],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    // Every table and button of the console is the kit's (components/kit/: DataTable, Button), so
    // that tables sort, page, export and read the same way everywhere and buttons look alike.
    files: ["**/*.tsx"],
    ignores: ["components/kit/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: 'JSXOpeningElement[name.name="table"]', message: "Use the kit's DataTable (components/kit/data-table.tsx), not a hand-written <table>." },
        { selector: 'JSXOpeningElement[name.name="button"]', message: "Use the kit's Button (components/kit/button.tsx), not a hand-written <button>." },
      ],
    },
  },
  {
    // Domain code never imports tRPC, Next or React (next-auth, the auth configuration in
    // server/auth/auth-options.ts, is not Next itself and stays allowed).
    files: ["server/**/*.ts"],
    ignores: ["server/api/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@trpc/*", "next", "next/*", "react", "react/*", "react-dom", "react-dom/*"], message: "Domain code must not depend on transport or UI; see STYLE.md." }] },
      ],
    },
  },
);
