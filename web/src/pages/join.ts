// "/": join a class with its code and your name; when already signed in, also lists your classes.
// "/#return=TOKEN" (a personal return link) signs this browser back into that student's account. Joining with a
// name a classmate already has asks for that person's return code (or password) instead of making a second one.

import { ApiError, me, post } from "../api";
import { $, clear, h } from "../dom";
import { boot, safeNext, setTitle, showUser } from "../shell";
import { takeNotice } from "../channel";
import { instructorHome } from "../home";

interface JoinAnswer { token: string; user: { id: string | number; display_name: string; role: string } }

async function afterSignIn(): Promise<void> {
  const next = safeNext();
  if (next) { location.href = next; return; }
  const who = await me();
  const classes = who?.classes ?? [];
  location.href = classes.length === 1 && who?.user.role === "student" ? `/classes/${classes[0].id}` : "/";
}

/** A return link opened here: sign in as that student, then go on to their class. */
async function useReturnLink(token: string): Promise<boolean> {
  history.replaceState(null, "", location.pathname + location.search); // the token does not stay in the URL bar
  clear($("#main"), h("p", { class: "card narrow", role: "status" }, "Signing you back in…"));
  try {
    await post<JoinAnswer>("/api/return", { token });
    await afterSignIn();
    return true;
  } catch (e) {
    clear($("#main"), h("section", { class: "card narrow", role: "alert" },
      h("h1", {}, "This return link did not work"),
      h("p", {}, e instanceof Error ? e.message : String(e)),
      h("p", {}, "Ask your teacher to show you your return link again, or join with your class code below."),
      h("p", {}, h("a", { href: "/" }, "Join with a class code"))));
    return false;
  }
}

boot(async () => {
  setTitle("Join a class");
  const back = new URLSearchParams(location.hash.slice(1)).get("return");
  if (back) { await useReturnLink(back); return; }
  const who = await me().catch(() => null);
  showUser(who);
  if (who && who.user.role !== "student" && !safeNext()) {
    await instructorHome(who);
    return;
  }
  const notice = takeNotice();
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
  const proofHelp = h("p", { class: "muted small", id: "proof-help" });
  const proof = h("input", {
    id: "join-proof", name: "return_code", autocomplete: "off", spellcheck: "false", maxlength: "64",
    "aria-describedby": "proof-help join-error",
  });
  const proofBox = h("div", { class: "proof", hidden: true },
    h("label", { for: "join-proof" }, "Your return code (or password)"), proof, proofHelp);
  const form = h("form", { class: "card narrow", "aria-labelledby": "join-title" },
    h("h1", { id: "join-title" }, "Join your class"),
    h("p", { class: "muted" }, "Your teacher gives you the class code."),
    h("label", { for: "join-code" }, "Class code"), code,
    h("label", { for: "join-name" }, "Your name"), name, proofBox,
    error, button,
    h("p", { class: "muted small" }, "Teacher? ", h("a", { href: "/login" + location.search }, "Sign in here")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    error.textContent = "";
    const given = proofBox.hidden ? "" : proof.value.trim();
    try {
      // The same text goes as both: a return code looks like ABCD-EFGH, a password can be anything.
      await post<JoinAnswer>("/api/join", { join_code: code.value.trim(), name: name.value.trim(),
        ...(given ? { return_code: given.length <= 32 ? given : undefined, password: given } : {}) });
      await afterSignIn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.code === "name_taken") {
        proofBox.hidden = false;
        proofHelp.textContent = "Someone in this class already uses this name. If it is you, type the return code " +
          "you were shown (like ABCD-EFGH) or your password. If not, change your name above.";
        error.textContent = "";
        proof.focus();
      } else {
        error.textContent = e instanceof ApiError && e.status === 404
          ? "No class has this code. Check it with your teacher."
          : e instanceof ApiError && e.status === 401 && given
            ? "That return code or password does not match this name. Ask your teacher for your return link."
            : e instanceof Error ? e.message : String(e);
      }
      button.disabled = false;
    }
  });
  const mine = who && who.classes.length
    ? h("section", { class: "card narrow", "aria-labelledby": "mine-title" },
        h("h2", { id: "mine-title" }, "Your classes"),
        h("ul", { class: "list" }, who.classes.map((c) =>
          h("li", {}, h("a", { href: `/classes/${c.id}` }, c.name), " ", h("span", { class: "badge" }, c.role)))))
    : null;
  const note = notice ? h("p", { class: "banner narrow", role: "status" }, notice) : null;
  clear($("#main"), h("div", { class: "stack center" }, note, mine, form));
  (mine ? null : code)?.focus();
});
