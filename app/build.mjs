// Bundle src/app.js (with @modelcontextprotocol/ext-apps and its dependencies) and inline it
// into src/index.html: one self-contained HTML file, no network at run time.
// Usage: node build.mjs OUT.html   (the repository keeps it at ../assets/app/editor.html)
import { build } from "esbuild";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUT.html");
  process.exit(2);
}
const result = await build({
  entryPoints: [join(here, "src/app.js")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  minify: true,
  legalComments: "eof",
  write: false,
  logLevel: "warning",
});
// Inside <script>: a literal "</script" would end the element early.
const js = result.outputFiles[0].text.replace(/<\/(script)/gi, "<\\/$1");
const html = readFileSync(join(here, "src/index.html"), "utf8");
const slot = "<!-- APP_SCRIPT -->";
if (!html.includes(slot)) throw new Error(`src/index.html has no ${slot}`);
const doc = html.replace(slot, () => `<script>${js}</script>`);
writeFileSync(`${out}.tmp`, doc);
renameSync(`${out}.tmp`, out);
console.error(`wrote ${out} (${doc.length} bytes)`);
