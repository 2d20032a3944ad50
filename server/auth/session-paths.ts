/** Only same-site paths may be sign-in callbacks: "//evil.example" and absolute URLs become "/". */
export function safeCallbackPath(path: string): string {
  return path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\") ? path : "/";
}
