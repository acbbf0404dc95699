// The official TypeScript SDK as a host drives the server: initialize with a given protocol
// version, upload a clip by file:// URI, replace its background, export it, upload the
// exported file back by the link (or path) the result gave. Every result is parsed by the
// SDK's own schemas for that SDK version (1.0.4 throws on content types it does not know, as
// `ZodError invalid_union … "resource_link"`), then checked here.
//
// Usage: node flow.mjs SDK_PACKAGE REQUESTED_VERSION|default SERVER_EXE CLIP_URI OUT_DIR_URI
// Environment for the server: inherited (the Rust test sets HOME, EBC_* dirs, EBC_BACKEND).
// Prints one JSON line: {"negotiated": …, "steps": […]}; exits non-zero on any failure.

const [sdkName, requested, exe, clipUri, outDirUri] = process.argv.slice(2);
const { Client } = await import(`${sdkName}/client/index.js`);
const { StdioClientTransport } = await import(`${sdkName}/client/stdio.js`);
const types = await import(`${sdkName}/types.js`);

const transport = new StdioClientTransport({
  command: exe,
  args: ["serve"],
  env: Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)),
  stderr: "inherit",
});

// A host pinned to an older revision: the initialize request names it, and the SDK accepts
// any answer in its SUPPORTED_PROTOCOL_VERSIONS. The wrapper also records the version the
// server answered with.
let negotiated = null;
class Recording {
  constructor(inner) {
    this.inner = inner;
    inner.onmessage = (m) => {
      if (m && m.result && typeof m.result.protocolVersion === "string") negotiated = m.result.protocolVersion;
      this.onmessage?.(m);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
  }
  start() { return this.inner.start(); }
  send(message, options) {
    if (message.method === "initialize" && requested !== "default") {
      message = { ...message, params: { ...message.params, protocolVersion: requested } };
    }
    return this.inner.send(message, options);
  }
  close() { return this.inner.close(); }
}
const client = new Client({ name: "ebc-ts-flow", version: "1.0.0" }, { capabilities: {} });
await client.connect(new Recording(transport));

function fail(what, detail) {
  console.error(`FAILED: ${what}\n${typeof detail === "string" ? detail : JSON.stringify(detail, null, 2)}`);
  process.exit(1);
}

const steps = [];
async function call(name, args) {
  // The SDK validates the result with its CallToolResultSchema: an unknown content type throws.
  const result = await client.callTool({ name, arguments: args }, types.CallToolResultSchema);
  steps.push({ name, isError: !!result.isError, types: result.content.map((c) => c.type) });
  return result;
}
const text = (r) => r.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");

const up = await call("upload_media", { media: clipUri });
if (up.isError) fail("upload_media by file:// URI", text(up));
const rb = await call("replace_background", { backdrop: "blur" });
if (rb.isError) fail("replace_background", text(rb));
// matte: the suite's renders are not about the matte (tests/support/mod.rs TEST_MATTE).
const ex = await call("export_video", { output_path: outDirUri, resolution: "720p", matte: "fast" });
if (ex.isError) fail("export_video to a file:// folder", text(ex));
const link = ex.content.find((c) => c.type === "resource_link");
const saved = /Saved the video to (.+?\.mp4)/.exec(text(ex));
if (!saved) fail("export_video names the saved path in its text", text(ex));
const back = await call("upload_media", { media: link ? link.uri : saved[1] });
if (back.isError) fail("upload_media of the link the server returned", text(back));

console.log(JSON.stringify({ sdk: sdkName, requested, negotiated, steps, link: link ? link.uri : null, path: saved[1],
  structured: ex.structuredContent ?? null }));
await client.close();
