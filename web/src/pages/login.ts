// "/login": instructors sign in with a username and password.

import { ApiError, me, post } from "../api";
import { $, clear, h } from "../dom";
import { boot, safeNext, setTitle, showUser } from "../shell";

boot(async () => {
  setTitle("Instructor sign-in");
  showUser(await me().catch(() => null));
  const error = h("p", { class: "form-error", role: "alert", id: "login-error" });
  const user = h("input", { id: "login-user", name: "username", required: true, autocomplete: "username",
    autocapitalize: "none", spellcheck: "false", "aria-describedby": "login-error" });
  const pass = h("input", { id: "login-pass", name: "password", type: "password", required: true,
    autocomplete: "current-password", "aria-describedby": "login-error" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Instructor sign-in"),
    h("label", { for: "login-user" }, "Username"), user,
    h("label", { for: "login-pass" }, "Password"), pass,
    error, button,
    h("p", { class: "muted small" }, "Student? ", h("a", { href: "/" + location.search }, "Join with a class code")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      await post("/api/login", { username: user.value.trim(), password: pass.value });
      const next = safeNext();
      location.href = next ?? "/";
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 401
        ? "Wrong username or password."
        : e instanceof Error ? e.message : String(e);
      button.disabled = false;
    }
  });
  clear($("#main"), h("div", { class: "stack center" }, form));
  user.focus();
});
