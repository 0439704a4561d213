import assert from "node:assert/strict";
import { test } from "node:test";
import { ago } from "../src/channel";

test("waiting and idle times read as a person says them", () => {
  const now = Date.parse("2026-11-30T10:00:00Z");
  assert.equal(ago(null, now), "—");
  assert.equal(ago("2026-11-30T09:59:48Z", now), "12 s");
  assert.equal(ago("2026-11-30T09:57:00Z", now), "3 min");
  assert.equal(ago("2026-11-30T08:45:00Z", now), "1 h 15 min");
  assert.equal(ago("2026-11-30T10:00:05Z", now), "0 s");  // a clock slightly ahead is "now", not negative
});
