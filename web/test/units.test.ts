import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMarkdown } from "../src/room/markdown";
import { explain } from "../src/room/runner";

test("verdicts read as plain words", () => {
  assert.equal(explain({ verdict: "ok", wall_ms: 120 }).detail, "Your program ended normally in 0.12 s.");
  const tle = explain({ verdict: "time_limit", wall_ms: 10_040 });
  assert.equal(tle.title, "Time limit");
  assert.match(tle.detail, /^Your program ran longer than 10 s/);
  const err = explain({ verdict: "runtime_error", error: { type: "ZeroDivisionError", message: "division by zero", line: 2 } });
  assert.equal(err.title, "Error on line 2");
  assert.equal(err.detail, "ZeroDivisionError: division by zero");
  assert.equal(explain({ verdict: "cancelled" }).title, "Stopped");
  assert.match(explain({ verdict: "memory_limit" }).detail, /more memory/);
  assert.match(explain({ verdict: "internal_error" }).detail, /not in your program/);
});

test("markdown renders the lesson basics", () => {
  const html = renderMarkdown("# Loops\n\nA **for** loop, `range(3)`:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n- one\n- two\n");
  assert.match(html, /<h2>Loops<\/h2>/);
  assert.match(html, /<strong>for<\/strong>/);
  assert.match(html, /<code>range\(3\)<\/code>/);
  assert.match(html, /<pre><code class="language-python">for i in range\(3\):\n    print\(i\)<\/code><\/pre>/);
  assert.match(html, /<ul><li>one<\/li><li>two<\/li><\/ul>/);
});

test("markdown never lets HTML or script links through", () => {
  const html = renderMarkdown("<script>alert(1)</script>\n\n[x](javascript:alert(1)) and <img src=x onerror=alert(1)>");
  assert.ok(!html.includes("<script"));
  assert.ok(!html.includes("<img"));
  assert.ok(!html.includes("javascript:"));
  assert.match(html, /&lt;script&gt;/);
});

test("markdown keeps code text as text", () => {
  const html = renderMarkdown("`a < b and **not bold**`");
  assert.match(html, /<code>a &lt; b and \*\*not bold\*\*<\/code>/);
});
