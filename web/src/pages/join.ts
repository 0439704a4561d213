// "/": join a class with its code and your name; when already signed in, also lists your classes.

import { ApiError, me, post } from "../api";
import { $, clear, h } from "../dom";
import { boot, safeNext, setTitle, showUser } from "../shell";

interface JoinAnswer { token: string; user: { id: string | number; display_name: string; role: string } }

async function afterSignIn(): Promise<void> {
  const next = safeNext();
  if (next) { location.href = next; return; }
  const who = await me();
  const classes = who?.classes ?? [];
  location.href = classes.length === 1 ? `/classes/${classes[0].id}` : "/";
}

boot(async () => {
  setTitle("Join a class");
  const who = await me().catch(() => null);
  showUser(who);
  const error = h("p", { class: "form-error", role: "alert", id: "join-error" });
  const code = h("input", {
    id: "join-code", name: "join_code", required: true, autocomplete: "off", autocapitalize: "characters",
    spellcheck: "false", inputmode: "text", maxlength: "32", "aria-describedby": "join-error",
  });
  const name = h("input", {
    id: "join-name", name: "name", required: true, autocomplete: "nickname", maxlength: "60",
    "aria-describedby": "join-error",
  });
  const button = h("button", { type: "submit", class: "primary" }, "Join");
  const form = h("form", { class: "card narrow", "aria-labelledby": "join-title" },
    h("h1", { id: "join-title" }, "Join your class"),
    h("p", { class: "muted" }, "Your teacher gives you the class code."),
    h("label", { for: "join-code" }, "Class code"), code,
    h("label", { for: "join-name" }, "Your name"), name,
    error, button,
    h("p", { class: "muted small" }, "Teacher? ", h("a", { href: "/login" + location.search }, "Sign in here")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      await post<JoinAnswer>("/api/join", { join_code: code.value.trim(), name: name.value.trim() });
      await afterSignIn();
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 404
        ? "No class has this code. Check it with your teacher."
        : e instanceof Error ? e.message : String(e);
      button.disabled = false;
    }
  });
  const mine = who && who.classes.length
    ? h("section", { class: "card narrow", "aria-labelledby": "mine-title" },
        h("h2", { id: "mine-title" }, "Your classes"),
        h("ul", { class: "list" }, who.classes.map((c) =>
          h("li", {}, h("a", { href: `/classes/${c.id}` }, c.name), " ", h("span", { class: "badge" }, c.role)))))
    : null;
  clear($("#main"), h("div", { class: "stack center" }, mine, form));
  (mine ? null : code)?.focus();
});
