// The editor-background-changer MCP App: before/after player, timeline, backdrop picker and
// export. Every action is a tools/call through the host (App.callServerTool); media arrive as
// data: URLs (the still JPEG from the tool result's image block, the preview clip from a
// resources/read blob), as the host's default content security policy allows nothing else.
import { App } from "@modelcontextprotocol/ext-apps";

const $ = (id) => document.getElementById(id);
const presets = JSON.parse($("ebc-presets").textContent || "[]");
const app = new App({ name: "editor-background-changer", version: "1.0.0" }, {});
// Long renders: the server answers `running` with a job_id well inside this, and the app
// calls again with it.
const CALL_TIMEOUT_MS = 5 * 60 * 1000;
const MP4 = 'video/mp4; codecs="avc1.4D401E"';

let busy = false;

function setStatus(text, error = false) {
  const s = $("status");
  s.textContent = text || "";
  s.classList.toggle("error", error);
}

function firstText(result) {
  const t = (result?.content ?? []).find((c) => c.type === "text");
  return t ? t.text : "";
}

// The structured result; hosts on protocol versions before 2025-06-18 get none, and then the
// last text block holds the same fields as JSON.
function structured(result) {
  if (result?.structuredContent && typeof result.structuredContent === "object") {
    return result.structuredContent;
  }
  const texts = (result?.content ?? []).filter((c) => c.type === "text");
  for (let i = texts.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(texts[i].text);
      if (v && typeof v === "object") return v;
    } catch {
      // not JSON: the sentence for the model
    }
  }
  return {};
}

function kindOf(data, tool) {
  if (tool) return tool;
  if ("draft" in data) return "show_timeline";
  if ("path" in data || "quality" in data || "claim_link" in data) return "export_video";
  return "replace_background";
}

function renderTimeline(summary) {
  if (!summary) return;
  const [head, ...rest] = summary.split(/\s(?=\d+\.\s)/);
  $("timeline-summary").textContent = rest.length ? head : summary;
  const list = $("timeline");
  list.replaceChildren(
    ...rest.map((item) => {
      const li = document.createElement("li");
      li.textContent = item.replace(/^\d+\.\s*/, "");
      return li;
    }),
  );
}

function showStill(src) {
  const still = $("still");
  if (src) still.src = src;
  if (still.src) {
    still.classList.remove("hidden");
    $("clip").classList.add("hidden");
  }
}

async function renderPreview(result, data) {
  const image = (result.content ?? []).find((c) => c.type === "image");
  const stillSrc = image ? `data:${image.mimeType};base64,${image.data}` : null;
  if (stillSrc) $("still").src = stillSrc;
  $("preview-note").textContent = data.preview ?? "";
  const clip = $("clip");
  if (!data.preview_clip || clip.canPlayType(MP4) === "") {
    showStill();
    return;
  }
  try {
    const read = await app.readServerResource({ uri: data.preview_clip });
    const c = read.contents?.[0];
    if (!c?.blob) throw new Error("the preview clip came without data");
    clip.onerror = () => showStill();
    clip.src = `data:${c.mimeType ?? "video/mp4"};base64,${c.blob}`;
    clip.classList.remove("hidden");
    $("still").classList.add("hidden");
    await clip.play().catch(() => {});
  } catch (e) {
    console.warn("preview clip:", e);
    showStill();
  }
}

function renderExport(result, data) {
  const link = (result.content ?? []).find((c) => c.type === "resource_link");
  let path = data.path;
  if (!path && link?.uri?.startsWith("file://")) {
    path = decodeURIComponent(new URL(link.uri).pathname);
  }
  $("export-progress").value = 100;
  $("export-state").textContent = link ? `Saved (${link.name})` : "Saved";
  $("export-path").textContent = path ?? "";
  const claim = $("claim-link");
  if (data.claim_link) {
    claim.href = data.claim_link;
    claim.classList.remove("hidden");
  } else {
    claim.classList.add("hidden");
  }
  setStatus(data.message ?? firstText(result));
}

async function showResult(result, tool) {
  const data = structured(result);
  const kind = kindOf(data, tool);
  if (result?.isError) {
    setStatus(data.message ?? firstText(result), true);
    if (kind === "export_video") $("export-state").textContent = "Failed";
    return;
  }
  if (data.status === "running") {
    setStatus(data.message ?? "Still working…");
    return;
  }
  if (kind === "show_timeline") {
    renderTimeline(data.summary);
    setStatus(data.summary ? "" : firstText(result));
  } else if (kind === "export_video") {
    renderExport(result, data);
  } else {
    renderTimeline(data.timeline);
    setStatus(data.message ?? firstText(result));
    await renderPreview(result, data);
  }
}

// One tool call through the host, following `running` answers with their job_id.
async function callFollowing(name, args, onRunning) {
  let call = args;
  for (;;) {
    const result = await app.callServerTool(
      { name, arguments: call },
      { timeout: CALL_TIMEOUT_MS },
    );
    const data = structured(result);
    if (!result.isError && data.status === "running" && data.job_id) {
      onRunning?.(data);
      call = { job_id: data.job_id };
      continue;
    }
    return result;
  }
}

function setBusy(on) {
  busy = on;
  for (const b of document.querySelectorAll("button")) b.disabled = on;
}

async function replaceWith(backdrop) {
  if (busy) return;
  setBusy(true);
  setStatus(`Replacing the background with ${backdrop}…`);
  try {
    const result = await callFollowing("replace_background", { backdrop }, (d) =>
      setStatus(d.message ?? "Still working…"),
    );
    await showResult(result, "replace_background");
  } catch (e) {
    setStatus(`replace_background failed: ${e.message ?? e}`, true);
  } finally {
    setBusy(false);
  }
}

async function exportVideo() {
  if (busy) return;
  setBusy(true);
  const bar = $("export-progress");
  const state = $("export-state");
  bar.classList.remove("hidden");
  bar.removeAttribute("value");
  $("export-path").textContent = "";
  const started = Date.now();
  let percent = null;
  const tick = () => {
    const s = Math.round((Date.now() - started) / 1000);
    state.textContent = percent == null ? `Exporting… ${s} s` : `Exporting… ${Math.round(percent)}% (${s} s)`;
  };
  tick();
  const timer = setInterval(tick, 1000);
  try {
    const result = await callFollowing("export_video", {}, (d) => {
      if (typeof d.progress === "number") {
        percent = d.progress;
        bar.value = d.progress;
      }
    });
    clearInterval(timer);
    await showResult(result, "export_video");
  } catch (e) {
    clearInterval(timer);
    state.textContent = "Failed";
    setStatus(`export_video failed: ${e.message ?? e}`, true);
  } finally {
    setBusy(false);
  }
}

function buildPicker() {
  const box = $("backdrops");
  for (const p of presets) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.backdrop = p.backdrop;
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = p.swatch;
    b.append(sw, document.createTextNode(p.label));
    b.addEventListener("click", () => replaceWith(p.backdrop));
    box.append(b);
  }
  $("apply-colour").addEventListener("click", () => replaceWith($("colour").value.toUpperCase()));
  $("export").addEventListener("click", exportVideo);
}

let sawResult = false;
app.ontoolinput = () => setStatus("Working…");
app.ontoolresult = (result) => {
  sawResult = true;
  const tool = app.getHostContext()?.toolInfo?.tool?.name;
  showResult(result, tool).catch((e) => setStatus(String(e), true));
};

buildPicker();
app
  .connect()
  .then(async () => {
    setStatus("");
    // The timeline as it is now, unless the tool result already brought it.
    if (!sawResult && app.getHostCapabilities()?.serverTools) {
      const r = await app.callServerTool({ name: "show_timeline", arguments: {} });
      if (!sawResult) await showResult(r, "show_timeline");
    }
  })
  .catch((e) => setStatus(`Could not connect to the host: ${e.message ?? e}`, true));
