// One cell of the protocol matrix (tests/matrix.rs) with the official TypeScript SDK as the
// host: initialize asking for a protocol version, tools/list, resources/read of the app,
// upload_media of a clip, replace_background (blur), show_timeline. Every answer is parsed by
// that SDK's own schemas.
//
// Usage: node matrix.mjs SDK_PACKAGE REQUESTED_VERSION|default SERVER_EXE CLIP_PATH
// The server's environment is inherited (the Rust test sets HOME, EBC_* dirs, EBC_BACKEND).
// Prints one JSON line {"negotiated": …, "steps": […]}; exits non-zero on any failure.

const [sdkName, requested, exe, clip] = process.argv.slice(2);
const { Client } = await import(`${sdkName}/client/index.js`);
const { StdioClientTransport } = await import(`${sdkName}/client/stdio.js`);
const types = await import(`${sdkName}/types.js`);
const APP = "ui://editor-background-changer/editor.html";

const transport = new StdioClientTransport({
  command: exe,
  args: ["serve"],
  env: Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)),
  stderr: "inherit",
});
// Asks for `requested` in initialize and records the version the server answered with.
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
function fail(what, detail) {
  console.error(`FAILED: ${what}\n${typeof detail === "string" ? detail : JSON.stringify(detail, null, 2)}`);
  process.exit(1);
}
const client = new Client({ name: "ebc-ts-matrix", version: "1.0.0" }, { capabilities: {} });
await client.connect(new Recording(transport));
const steps = [];
const text = (r) => r.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");

const tools = await client.listTools();
const names = tools.tools.map((t) => t.name).sort().join();
if (names !== "edit_video,export_video,get_credits,replace_background,show_timeline,upload_media") fail("tools/list", names);
steps.push({ step: "tools/list", tools: tools.tools.length });
const res = await client.readResource({ uri: APP });
const c = res.contents[0];
if (c.mimeType !== "text/html;profile=mcp-app" || !/<!doctype html>/i.test(c.text ?? "")) fail("resources/read of the app", { mimeType: c.mimeType });
steps.push({ step: "resources/read", mime: c.mimeType });
const name = clip.split("/").pop();
const up = await client.callTool({ name: "upload_media", arguments: { media: [clip] } }, types.CallToolResultSchema);
if (up.isError || !text(up).includes(name)) fail("upload_media", text(up));
steps.push({ step: "upload_media" });
const rb = await client.callTool({ name: "replace_background", arguments: { backdrop: "blur" } }, types.CallToolResultSchema);
if (rb.isError || !text(rb).includes(name)) fail("replace_background answers with the timeline", text(rb));
steps.push({ step: "replace_background" });
const tl = await client.callTool({ name: "show_timeline", arguments: {} }, types.CallToolResultSchema);
if (tl.isError || !text(tl).includes(name)) fail("show_timeline lists the clip", text(tl));
steps.push({ step: "show_timeline" });
console.log(JSON.stringify({ sdk: sdkName, requested, negotiated, steps }));
await client.close();
