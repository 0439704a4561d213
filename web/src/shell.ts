// The frame every page shares: the top bar (brand, connection status, theme toggle, who is signed in) and the
// left navigation slot. Pages fill #nav and #main; instructor pages of later waves use the same slots.

import { ApiError, Me, me, post } from "./api";
import { $, clear, h } from "./dom";

const THEME_COOKIE = "classroom_theme";

function currentTheme(): "light" | "dark" {
  const set = document.documentElement.dataset.theme;
  if (set === "light" || set === "dark") return set;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** Theme: the system's by default; the toggle's choice is kept in a cookie so the server renders it. */
function setupTheme(): void {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  const paint = () => {
    const dark = currentTheme() === "dark";
    button.setAttribute("aria-pressed", String(dark));
    button.textContent = dark ? "☾ Dark" : "☀ Light";
    button.title = dark ? "Switch to the light theme" : "Switch to the dark theme";
  };
  button.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    document.cookie = `${THEME_COOKIE}=${next}; path=/; max-age=31536000; samesite=lax`;
    paint();
    document.dispatchEvent(new CustomEvent("themechange", { detail: next }));
  });
  paint();
}

export function setTitle(title: string): void {
  document.title = `${title} · classroom`;
}

/** Shows who is signed in, with a sign-out button, in the top bar. */
export function showUser(who: Me | null): void {
  const slot = document.getElementById("who");
  if (!slot) return;
  if (!who) { clear(slot, h("a", { href: "/login" }, "Instructor sign-in")); return; }
  clear(slot,
    h("span", { class: "who-name" }, who.user.display_name,
      who.user.role !== "student" ? h("span", { class: "badge" }, who.user.role) : null),
    h("button", {
      type: "button", class: "link",
      onclick: async () => {
        try { await post("/api/logout"); } finally { location.href = "/"; }
      },
    }, "Sign out"));
}

/** The signed-in person, or a redirect to the join page (coming back here afterwards). */
export async function requireUser(): Promise<Me> {
  const who = await me();
  if (!who) {
    location.href = "/?next=" + encodeURIComponent(location.pathname);
    throw new ApiError(401, "unauthenticated", "Redirecting to sign in");
  }
  showUser(who);
  return who;
}

export function nav(...items: (Node | null)[]): void {
  const el = document.getElementById("nav");
  if (!el) return;
  clear(el, ...items);
  el.hidden = items.every((i) => i === null);
}

/** Replaces the main area with a readable error (and keeps the rest of the page). */
export function fatal(message: string, hint?: Node | string): void {
  clear($("#main"), h("section", { class: "card error-page", role: "alert" },
    h("h1", {}, "Cannot open this page"), h("p", {}, message), hint ? h("p", {}, hint) : null,
    h("p", {}, h("a", { href: "/" }, "Back to the start page"))));
}

export function boot(run: () => Promise<void>): void {
  setupTheme();
  run().catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 401 && e.message === "Redirecting to sign in") return;
    console.error(e);
    fatal(e instanceof Error ? e.message : String(e));
  });
}

export function safeNext(): string | null {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}
