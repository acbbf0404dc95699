"""The official Python MCP SDK as a host that asks its user, for tests/consent.rs.

Usage: python consent.py MODE SERVER_EXE CLIP_PATH
  MODE: legacy (the initialize handshake: the server sends `elicitation/create`) or a modern
  pin such as 2026-07-28 (no server requests: the server answers `input_required` and the
  SDK's `Client.call_tool` shows the form through the same callback and calls again).
The server's environment is this process's (the Rust test points it at a "cloud" backend).
Steps: upload_media of the clip, then replace_background (blur) twice: the user declines the
first form and accepts the second.
Prints one JSON line {"negotiated", "forms": [{"mode", "message"}], "steps": [...]}.
"""

import asyncio
import json
import os
import sys

import mcp_types as types
from mcp import StdioServerParameters
from mcp.client import Client


def texts(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(mode, exe, clip):
    params = StdioServerParameters(command=exe, args=["serve"], env=dict(os.environ))
    forms = []
    answers = []

    async def user(_context, request):
        forms.append({"mode": getattr(request, "mode", None), "message": request.message})
        action = answers.pop(0) if answers else "decline"
        if action == "accept":
            return types.ElicitResult(action="accept", content={"proceed": True})
        return types.ElicitResult(action=action)

    steps = []
    async with Client(params, mode=mode, elicitation_callback=user) as client:
        negotiated = client.protocol_version
        up = await client.call_tool("upload_media", {"media": [clip]})
        steps.append({"step": "upload_media", "is_error": bool(up.is_error), "text": texts(up)})
        for action in ["decline", "accept"]:
            answers.append(action)
            r = await client.call_tool("replace_background", {"backdrop": "blur"})
            steps.append({"step": "replace_background", "answer": action,
                          "is_error": bool(r.is_error), "text": texts(r)})
    print(json.dumps({"sdk": "python mcp 2.3.0", "mode": mode, "negotiated": negotiated,
                      "forms": forms, "steps": steps}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
