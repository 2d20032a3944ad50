"use client";
import { signOut } from "next-auth/react";
import { useState } from "react";
import { buttonClass } from "./ui";

export function SignOutButton() {
  const [isPending, setIsPending] = useState(false);
  return (
    <button
      type="button"
      className={buttonClass.secondary}
      disabled={isPending}
      onClick={() => {
        setIsPending(true);
        void signOut({ callbackUrl: "/signin" });
      }}
    >
      Sign out
    </button>
  );
}
