// The test host page: the official ext-apps host bridge (AppBridge + PostMessageTransport)
// with the app in a sandboxed iframe (scripts only, an opaque origin, the spec's default
// content security policy). Tool calls and resource reads from the app go to
// window.mcpCallTool / window.mcpReadResource, which the driver (browser.mjs) binds to an
// MCP client connected to the real server over stdio.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

// The default policy of the ext-apps spec (2026-01-26) for a resource without `_meta.ui.csp`
// domains: nothing from the network, media and images only as data: URLs.
const DEFAULT_CSP =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; media-src 'self' data:; font-src 'self'; connect-src 'none'; frame-src 'none'; " +
  "object-src 'none'; base-uri 'self'";

window.hostLog = [];

window.startHost = async ({ html, tool, toolArgs, toolResult }) => {
  const frame = document.createElement("iframe");
  frame.id = "app";
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.cssText = "width: 820px; height: 1100px; border: 1px solid #ccc";
  document.body.append(frame);
  const bridge = new AppBridge(
    null,
    { name: "ebc-browser-test-host", version: "1.0.0" },
    { serverTools: {}, serverResources: {} },
    { hostContext: { toolInfo: { tool }, theme: "light", displayMode: "inline" } },
  );
  bridge.oncalltool = async (params) => {
    window.hostLog.push({ call: params.name, arguments: params.arguments ?? {} });
    return window.mcpCallTool(params);
  };
  bridge.onreadresource = async (params) => {
    window.hostLog.push({ read: params.uri });
    return window.mcpReadResource(params);
  };
  const initialized = new Promise((resolve) => {
    bridge.oninitialized = resolve;
  });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  const csp = `<meta http-equiv="Content-Security-Policy" content="${DEFAULT_CSP}">`;
  frame.srcdoc = html.replace("<head>", `<head>${csp}`);
  await initialized;
  await bridge.sendToolInput({ arguments: toolArgs });
  await bridge.sendToolResult(toolResult);
  window.hostLog.push({ sent: tool.name });
};
