// The browser test of the MCP App (issue 22), run by tests/app_browser.rs:
//   node app/test/browser.mjs        with the environment:
//   EBC_TEST_EXE  the server binary (started over stdio by the MCP client below)
//   EBC_TEST_CLIP a video to upload         EBC_TEST_OUT  a folder for the screenshot
//   CHROMIUM      the browser (Debian's chromium)
// and the server's own environment (HOME, EBC_BACKEND=local, EBC_STATE_DIR, EBC_DATA_DIR).
//
// What it asserts, in order (any failure exits 1 with the reason):
//  1. tools/list: replace_background, show_timeline and export_video name the app in
//     _meta.ui.resourceUri; resources/list holds it; resources/read gives one HTML document
//     with mimeType text/html;profile=mcp-app.
//  2. upload_media + replace_background {backdrop:"studio"} as a model would call them; the
//     result goes to the app through the official AppBridge in a sandboxed iframe under the
//     spec's default CSP.
//  3. The preview has pixels: the <video> plays the before|after clip (read by the app with
//     resources/read) and its frame, drawn to a canvas, is not flat, and its halves differ.
//  4. A click on the "Sunset" backdrop button makes a replace_background call with
//     backdrop "sunset" through the host, and the app shows its result.
//  5. A click on Export makes an export_video call; the page shows the saved path, which
//     exists, and the name of the result's resource_link (both parts of one result arrive).
//  6. A screenshot is written to $EBC_TEST_OUT/app-browser.png.
// The last line of stdout is a JSON report.
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const exe = env("EBC_TEST_EXE");
const clipPath = env("EBC_TEST_CLIP");
const outDir = env("EBC_TEST_OUT");
const chromiumPath = env("CHROMIUM");
const APP_URI = "ui://editor-background-changer/editor.html";
const LONG = { timeout: 10 * 60 * 1000 };
const report = { steps: [] };
const step = (name, detail = {}) => {
  report.steps.push({ name, ...detail });
  console.error(`ok: ${name} ${JSON.stringify(detail)}`);
};
function check(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

const serverEnv = { ...process.env };
for (const k of ["EBC_TEST_EXE", "EBC_TEST_CLIP", "EBC_TEST_OUT", "CHROMIUM"]) delete serverEnv[k];
const transport = new StdioClientTransport({ command: exe, args: ["serve"], env: serverEnv, stderr: "inherit" });
const client = new Client(
  { name: "ebc-browser-test-host", version: "1.0.0" },
  {
    capabilities: {
      extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } },
    },
  },
);

// A tools/call as a host makes it for the model, following `running` answers.
async function callFollowing(name, args) {
  let call = args;
  for (;;) {
    const r = await client.callTool({ name, arguments: call }, LONG);
    const s = r.structuredContent ?? {};
    if (!r.isError && s.status === "running" && s.job_id) {
      call = { job_id: s.job_id };
      continue;
    }
    return r;
  }
}

let browser;
try {
  await client.connect(transport);
  report.protocol = client.getNegotiatedProtocolVersion?.() ?? null;

  // 1. The app as a resource, named by the tools.
  const { tools } = await client.listTools();
  for (const name of ["replace_background", "show_timeline", "export_video"]) {
    const t = tools.find((x) => x.name === name);
    check(t?._meta?.ui?.resourceUri === APP_URI, `${name} names the app in _meta.ui.resourceUri`);
  }
  const { resources } = await client.listResources();
  check(resources.some((r) => r.uri === APP_URI && r.mimeType === "text/html;profile=mcp-app"), "resources/list holds the app");
  const read = await client.readResource({ uri: APP_URI });
  const doc = read.contents[0];
  check(doc.mimeType === "text/html;profile=mcp-app" && doc.text.startsWith("<!doctype html>"), "resources/read gives the HTML");
  step("app resource", { bytes: doc.text.length });

  // 2. What a model would call.
  const up = await callFollowing("upload_media", { media: [pathToFileURL(clipPath).href] });
  check(!up.isError, `upload_media: ${JSON.stringify(up.content)}`);
  const replaceArgs = { backdrop: "studio" };
  const first = await callFollowing("replace_background", replaceArgs);
  check(!first.isError, `replace_background: ${JSON.stringify(first.content).slice(0, 400)}`);
  check(typeof first.structuredContent?.preview_clip === "string", "replace_background names a preview clip");
  step("model calls", { preview_clip: first.structuredContent.preview_clip });

  // The host page: the bridge bundled from the installed ext-apps.
  const bundled = await build({
    entryPoints: [join(here, "host.js")],
    bundle: true,
    format: "iife",
    platform: "browser",
    write: false,
    logLevel: "warning",
  });
  const hostHtml = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title></head><body><script>${bundled.outputFiles[0].text.replace(/<\/script/gi, "<\\/script")}</script></body></html>`;

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
  report.browser = browser.version();
  const page = await browser.newPage({ viewport: { width: 860, height: 1150 } });
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  const calls = [];
  await page.exposeFunction("mcpCallTool", async (params) => {
    calls.push(params);
    return client.callTool(params, LONG);
  });
  await page.exposeFunction("mcpReadResource", async (params) => client.readResource(params));
  // The host page is served by Playwright itself: no server, no network.
  await page.route("http://host.test/**", (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: hostHtml }),
  );
  await page.goto("http://host.test/");
  const tool = tools.find((x) => x.name === "replace_background");
  await page.evaluate((a) => window.startHost(a), {
    html: doc.text,
    tool,
    toolArgs: replaceArgs,
    toolResult: first,
  });
  const frame = await (await page.$("#app")).contentFrame();
  check(frame, "the app frame exists");

  // 3. The preview has pixels.
  await frame.waitForFunction(
    () => {
      const v = document.getElementById("clip");
      return v && !v.classList.contains("hidden") && v.readyState >= 2 && v.videoWidth > 0;
    },
    null,
    { timeout: 60_000 },
  ).catch(async (e) => {
    const state = await frame.evaluate(() => ({
      status: document.getElementById("status").textContent,
      clip: document.getElementById("clip").className,
      src: document.getElementById("clip").src.slice(0, 40),
      err: document.getElementById("clip").error?.message,
      canPlay: document.getElementById("clip").canPlayType('video/mp4; codecs="avc1.4D401E"'),
    }));
    throw new Error(`the preview clip did not play: ${JSON.stringify(state)}; console: ${consoleLines.join(" | ")}; ${e.message}`);
  });
  const pixels = await frame.evaluate(() => {
    const v = document.getElementById("clip");
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = c.getContext("2d");
    g.drawImage(v, 0, 0);
    const { data } = g.getImageData(0, 0, c.width, c.height);
    const half = c.width / 2;
    let n = 0, sum = 0, sq = 0, diff = 0;
    for (let y = 0; y < c.height; y += 2) {
      for (let x = 0; x < half; x += 2) {
        const i = (y * c.width + x) * 4;
        const j = (y * c.width + x + half) * 4;
        const l = (data[i] + data[i + 1] + data[i + 2]) / 3;
        const r = (data[j] + data[j + 1] + data[j + 2]) / 3;
        sum += l; sq += l * l; diff += Math.abs(l - r); n++;
      }
    }
    const mean = sum / n;
    return { width: c.width, height: c.height, mean, std: Math.sqrt(sq / n - mean * mean), halvesDiffer: diff / n, src: v.src.slice(0, 22) };
  });
  check(pixels.src.startsWith("data:video/mp4"), "the clip is a data: URL");
  check(pixels.height <= 480, `the clip is at most 480 pixels high (${pixels.height})`);
  check(pixels.std > 8, `the preview frame is not flat (std ${pixels.std})`);
  check(pixels.halvesDiffer > 4, `before and after differ (mean |diff| ${pixels.halvesDiffer})`);
  step("preview has pixels", pixels);

  // 4. A backdrop click is a replace_background call through the host.
  const before = calls.length;
  await frame.click('button[data-backdrop="sunset"]');
  await frame.waitForFunction(
    () => !document.querySelector('button[data-backdrop="sunset"]').disabled &&
      /sunset/i.test(document.getElementById("status").textContent),
    null,
    { timeout: 5 * 60_000 },
  );
  const click = calls.slice(before).find((c) => c.name === "replace_background");
  check(click?.arguments?.backdrop === "sunset", `the click called replace_background with backdrop sunset: ${JSON.stringify(calls.slice(before))}`);
  const afterClick = await frame.evaluate(() => ({
    status: document.getElementById("status").textContent,
    timeline: document.getElementById("timeline").textContent,
  }));
  check(!/failed/i.test(afterClick.status), `the app shows the click's result: ${afterClick.status}`);
  step("backdrop click", { call: click, ...afterClick });

  // 5. Export: a call, then the path.
  const beforeExport = calls.length;
  await frame.click("#export");
  await frame.waitForFunction(
    () => document.getElementById("export-path").textContent.length > 0 ||
      document.getElementById("export-state").textContent === "Failed",
    null,
    { timeout: 10 * 60_000 },
  );
  const exported = await frame.evaluate(() => ({
    path: document.getElementById("export-path").textContent,
    state: document.getElementById("export-state").textContent,
    status: document.getElementById("status").textContent,
  }));
  const exportCalls = calls.slice(beforeExport).filter((c) => c.name === "export_video");
  check(exportCalls.length >= 1, "Export called export_video");
  check(exported.path && existsSync(exported.path) && statSync(exported.path).size > 1000, `the page shows a saved file: ${JSON.stringify(exported)}`);
  check(/^Saved \(.+\.mp4\)$/.test(exported.state), `the resource_link reached the app with the structured path: ${exported.state}`);
  step("export", { ...exported, calls: exportCalls.length, bytes: statSync(exported.path).size });

  // 6. The screenshot.
  const shot = join(outDir, "app-browser.png");
  await page.screenshot({ path: shot, fullPage: true });
  step("screenshot", { path: shot, bytes: statSync(shot).size });
  report.hostLog = await page.evaluate(() => window.hostLog);
  report.ok = true;
} catch (e) {
  report.ok = false;
  report.error = String(e?.stack ?? e);
  process.exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
  await client.close().catch(() => {});
}
console.log(JSON.stringify(report));
