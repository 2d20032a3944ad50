import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

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
    // Domain code never imports tRPC or Next.
    files: ["server/**/*.ts"],
    ignores: ["server/api/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@trpc/*", "next", "next/*"], message: "Domain code must not depend on transport; see STYLE.md." }] }],
    },
  },
);
