/** next-auth's error codes in plain words; unknown codes get a generic sentence, never the code. */
export function signInErrorMessage(code: string): string {
  switch (code) {
    case "CredentialsSignin":
      return "Wrong email or password";
    case "AccessDenied":
      return "Your account is not allowed to sign in";
    case "SessionRequired":
      return "Please sign in to continue";
    case "OAuthSignin":
    case "OAuthCallback":
    case "OAuthCreateAccount":
    case "OAuthAccountNotLinked":
    case "Callback":
      return "Sign-in with the identity provider did not complete. Try again.";
    case "Configuration":
      return "Sign-in is not configured correctly on the server. Contact an administrator.";
    default:
      return "Sign-in failed. Try again.";
  }
}
