import { redirect } from "next/navigation";

/** The console opens on the transfers queue; signed-out visitors are sent on to sign in from there. */
export default function Home() {
  redirect("/transfers");
}
