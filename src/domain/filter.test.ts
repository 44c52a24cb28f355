import assert from "node:assert/strict";
import { test } from "node:test";
import { looksLikeFilter, parseFilterTerm } from "./filter.js";

test("filter terms parse into field, operator and value; quotes around a value are dropped", () => {
  assert.deepEqual(parseFilterTerm("name~'map*'"), { field: "name", param: null, op: "~", value: "map*", text: "name~'map*'" });
  assert.equal(parseFilterTerm("param.lr>0.01").param, "lr");
  assert.equal(parseFilterTerm("exit!=0").op, "!=");
  assert.equal(parseFilterTerm("created>=2026-01-01").op, ">=");
  assert.ok(looksLikeFilter("state=failed") && !looksLikeFilter("12.4") && !looksLikeFilter("5-9"));
});

test("bad terms are refused with what is allowed", () => {
  assert.throws(() => parseFilterTerm("stat=failed"), /unknown field 'stat'/);
  assert.throws(() => parseFilterTerm("exit~3"), /exit compares with = != > >= < <=/);
  assert.throws(() => parseFilterTerm("exit>three"), /needs a whole number/);
  assert.throws(() => parseFilterTerm("created>yesterday"), /needs a date/);
  assert.throws(() => parseFilterTerm("param>1"), /name the parameter/);
});
