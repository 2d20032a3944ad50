"use client";
import { signOut } from "next-auth/react";
import { useState } from "react";
import { Button } from "./kit/button";

export function SignOutButton() {
  const [isPending, setIsPending] = useState(false);
  return (
    <Button
      disabled={isPending}
      onClick={() => {
        setIsPending(true);
        void signOut({ callbackUrl: "/signin" });
      }}
    >
      Sign out
    </Button>
  );
}
