"use client";
/**
 * Light/dark switch. The theme lives in the `dark` class on <html> (set before paint by the inline
 * script in app/layout.tsx) and in localStorage "theme". The button renders the same markup on the
 * server and the client; which icon shows is decided by CSS, so hydration never mismatches.
 */
import { Button } from "./kit/button";

export const THEME_STORAGE_KEY = "theme";

/** Runs before first paint: the stored choice, else the system preference. Kept tiny on purpose. */
export const THEME_INIT_SCRIPT = `(function(){try{var t=localStorage.getItem("${THEME_STORAGE_KEY}");var d=t?t==="dark":window.matchMedia("(prefers-color-scheme: dark)").matches;document.documentElement.classList.toggle("dark",d)}catch(e){}})();`;

export function ThemeToggle() {
  function toggle() {
    const root = document.documentElement;
    const isDark = !root.classList.contains("dark");
    root.classList.toggle("dark", isDark);
    try {
      localStorage.setItem(THEME_STORAGE_KEY, isDark ? "dark" : "light");
    } catch {
      // Storage can be unavailable (private mode); the switch still works for this page.
    }
  }
  return (
    <Button variant="ghost" onClick={toggle} aria-label="Toggle dark theme" title="Toggle dark theme">
      <svg aria-hidden="true" viewBox="0 0 20 20" className="h-4 w-4 dark:hidden" fill="currentColor">
        <path d="M17.3 13.4A7.5 7.5 0 0 1 6.6 2.7a7.5 7.5 0 1 0 10.7 10.7Z" />
      </svg>
      <svg aria-hidden="true" viewBox="0 0 20 20" className="hidden h-4 w-4 dark:block" fill="currentColor">
        <circle cx="10" cy="10" r="3.5" />
        <path d="M10 1v2.5M10 16.5V19M1 10h2.5M16.5 10H19M3.6 3.6l1.8 1.8M14.6 14.6l1.8 1.8M3.6 16.4l1.8-1.8M14.6 5.4l1.8-1.8" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
      </svg>
      <span className="sr-only sm:not-sr-only sm:text-xs">Theme</span>
    </Button>
  );
}
