"""The official Python MCP SDK as a host, for the protocol matrix (tests/matrix.rs).

Usage: python matrix.py MODE SERVER_EXE CLIP_PATH
  MODE: legacy | auto | a modern version pin such as 2026-07-28 (the SDK's `Client(mode=...)`:
  legacy = the initialize handshake, auto = `server/discover` with a fallback to the handshake,
  a pin = that stateless version without a probe).
The server's environment is this process's (the Rust test sets HOME, EBC_* dirs, EBC_BACKEND).
Steps: tools/list, resources/read of the app, upload_media of the clip, replace_background
(blur), show_timeline.
Prints one JSON line {"negotiated": ..., "steps": [...]}; exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys

from mcp import StdioServerParameters
from mcp.client import Client

APP_URI = "ui://editor-background-changer/editor.html"


def fail(what, detail):
    print(f"FAILED: {what}\n{detail}", file=sys.stderr)
    sys.exit(1)


def texts(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(mode, exe, clip):
    params = StdioServerParameters(command=exe, args=["serve"], env=dict(os.environ))
    steps = []
    async with Client(params, mode=mode) as client:
        negotiated = client.protocol_version
        tools = await client.list_tools()
        names = sorted(t.name for t in tools.tools)
        want = sorted(["upload_media", "replace_background", "export_video", "get_credits",
                       "show_timeline", "edit_video"])
        if names != want:
            fail("tools/list names the six tools", names)
        replace = next(t for t in tools.tools if t.name == "replace_background")
        meta = (replace.meta or {}) if hasattr(replace, "meta") else {}
        steps.append({"step": "tools/list", "tools": len(names),
                      "app": (meta.get("ui") or {}).get("resourceUri")})
        res = await client.read_resource(APP_URI)
        c = res.contents[0]
        mime = getattr(c, "mime_type", None) or getattr(c, "mimeType", None)
        text = getattr(c, "text", "") or ""
        if mime != "text/html;profile=mcp-app" or "<!doctype html>" not in text.lower():
            fail("resources/read gives the app", {"mime": mime, "start": text[:80]})
        steps.append({"step": "resources/read", "mime": mime, "chars": len(text)})
        up = await client.call_tool("upload_media", {"media": [clip]})
        if up.is_error:
            fail("upload_media", texts(up))
        name = os.path.basename(clip)
        if name not in texts(up):
            fail("upload_media names the clip", texts(up))
        steps.append({"step": "upload_media", "structured": up.structured_content is not None})
        rb = await client.call_tool("replace_background", {"backdrop": "blur"})
        if rb.is_error or name not in texts(rb):
            fail("replace_background answers with the timeline", texts(rb))
        steps.append({"step": "replace_background"})
        tl = await client.call_tool("show_timeline", {})
        if tl.is_error or name not in texts(tl):
            fail("show_timeline lists the uploaded clip", texts(tl))
        steps.append({"step": "show_timeline"})
    print(json.dumps({"sdk": "python mcp 2.3.0", "mode": mode, "negotiated": negotiated,
                      "steps": steps}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
