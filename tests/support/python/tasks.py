"""The official Python MCP SDK 2.3 as a 2026-07-28 tasks client, for tests/tasks.rs.

The SDK does not ship the client side of the tasks extension (`io.modelcontextprotocol/tasks`,
SEP-2663): `mcp_types` has `GetTaskRequest`/`GetTaskResult`/`GetTaskPayloadRequest`
(`tasks/result`) only for 2025-11-25 ("2025-11-25 only"), no model for the `resultType: "task"`
answer of 2026-07-28, and `mcp/client` has no tasks extension. It does have the means to add
one: `mcp.client.extension.ClientExtension` (advertised under `capabilities.extensions`) with
a `ResultClaim` on `resultType: "task"`, and `ClientSession.send_request` for requests it has
no method for. This script is that extension: the claim's resolver polls `tasks/get` at the
server's `pollIntervalMs` until the task ends and returns the tool's result (on 2026-07-28 the
result comes inline in `tasks/get`; there is no `tasks/result` there).

Usage: python tasks.py SERVER_EXE CLIP_PATH OUTPUT_PATH
The server's environment is this process's (EBC_STATE_DIR, EBC_DATA_DIR, EBC_BACKEND=local).
Steps: upload_media and replace_background through `Client.call_tool` (the claim resolves the
task); export_video through `session.call_tool(..., allow_claimed=True)` to hold the task
itself; one `tasks/get` (working); SIGKILL the server; check its job record still says
running and nothing was saved; a new server on the same dirs; poll `tasks/get` of the same id
to the end. Prints one JSON line; exits non-zero on any failure.
"""

import asyncio
import json
import os
import signal
import sys
from typing import Any, Literal

import mcp_types as types
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from pydantic import TypeAdapter

TASKS = "io.modelcontextprotocol/tasks"
MODE = "2026-07-28"


def fail(what, detail):
    print(f"FAILED: {what}\n{detail}", file=sys.stderr)
    sys.exit(1)


class CreatedTask(types.Result):
    """A `tools/call` answered with a task (SEP-2663 `CreateTaskResult`, fields flattened)."""

    result_type: Literal["task"]
    task_id: str
    status: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None
    status_message: str | None = None


class GetTaskParams(types.RequestParams):
    task_id: str


class GetTask(types.Request[GetTaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"


RAW = TypeAdapter(dict[str, Any])
SEEN = {}  # task id -> statuses seen by tasks/get, in order


async def get_task(session, task_id):
    got = await session.send_request(GetTask(params=GetTaskParams(task_id=task_id)), RAW)
    if got.get("taskId") != task_id:
        fail("tasks/get answers for the task asked", got)
    SEEN.setdefault(task_id, []).append(got.get("status"))
    return got


async def poll(session, task_id, every_ms):
    """`tasks/get` until the task ends; the tool's result (a CallToolResult as JSON)."""
    for _ in range(1200):
        got = await get_task(session, task_id)
        status = got.get("status")
        if status == "completed":
            return got["result"]
        if status != "working":
            fail(f"task {task_id} ended {status}", got)
        await asyncio.sleep((got.get("pollIntervalMs") or every_ms or 1000) / 1000)
    fail(f"task {task_id} still working", "")


async def resolve(created: CreatedTask, ctx: ClaimContext) -> types.CallToolResult:
    result = await poll(ctx.session, created.task_id, created.poll_interval_ms)
    return types.CallToolResult.model_validate(result)


class Tasks(ClientExtension):
    identifier = TASKS

    def claims(self):
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=resolve)]


def server_pids():
    """This process's children that are the server (`… serve`), from /proc."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"serve" in argv:
            pids.append(int(name))
    return pids


def texts(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(exe, clip, out):
    params = StdioServerParameters(command=exe, args=["serve"], env=dict(os.environ))
    report = {"sdk": "python mcp 2.3.0", "mode": MODE}
    state = os.environ["EBC_STATE_DIR"]
    try:
        async with Client(params, mode=MODE, extensions=[Tasks()]) as client:
            report["negotiated"] = client.protocol_version
            up = await client.call_tool("upload_media", {"media": [clip]})
            if up.is_error or os.path.basename(clip) not in texts(up):
                fail("upload_media as a task", texts(up))
            rb = await client.call_tool("replace_background", {"backdrop": "blur"})
            if rb.is_error or not (rb.structured_content or {}).get("timeline"):
                fail("replace_background as a task", texts(rb))
            report["resolved_by_claim"] = {k: v for k, v in SEEN.items()}
            # matte: the suite's renders are not about the matte (tests/support/mod.rs).
            created = await client.session.call_tool(
                "export_video", {"output_path": out, "matte": "fast"}, allow_claimed=True
            )
            if not isinstance(created, CreatedTask):
                fail("export_video answers with a task", created)
            report["export"] = created.model_dump(by_alias=True, exclude_none=True)
            first = await get_task(client.session, created.task_id)
            report["export_first_get"] = first.get("status")
            pids = server_pids()
            if len(pids) != 1:
                fail("one server process", pids)
            os.kill(pids[0], signal.SIGKILL)
            report["killed"] = pids[0]
            with open(os.path.join(state, "jobs", f"{created.task_id}.json")) as f:
                report["record_after_kill"] = json.load(f).get("state")
            report["saved_before_restart"] = os.path.exists(out)
    except Exception as dead:  # noqa: BLE001 — closing the session of a killed server may raise
        if "killed" not in report:
            raise
        report["close_after_kill"] = repr(dead)[:200]

    task_id = report["export"]["taskId"]
    async with Client(params, mode=MODE, extensions=[Tasks()]) as client:
        result = await poll(client.session, task_id, report["export"].get("pollIntervalMs"))
    report["export_result"] = result.get("structuredContent")
    report["statuses"] = SEEN
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
