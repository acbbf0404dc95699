// Writes the MCP Bundle's manifest.json and the registry's server.json from mcp-manifest.json
// (the tool list the tests keep equal to what the server serves).
//
// MCP Bundle manifest 0.3: https://github.com/modelcontextprotocol/mcpb (MANIFEST.md);
// registry server.json: https://modelcontextprotocol.io/registry/package-types (MCPB packages:
// a GitHub/GitLab release URL plus the file's SHA-256).
//
// Usage: node packaging/mcpb.mjs manifest PLATFORM EXE_NAME > manifest.json
//        node packaging/mcpb.mjs server-json BUNDLE_DIR RELEASE_BASE_URL > server.json
// server.json lists every .mcpb in BUNDLE_DIR (one per platform, each with its SHA-256) and
// the crate on crates.io (registryType "cargo": `cargo install editor-background-changer`).
import { readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ours = JSON.parse(readFileSync(join(root, "mcp-manifest.json"), "utf8"));
const [what, a, b] = process.argv.slice(2);

// One description of each setting, shared by both files.
const settings = {
  backend: {
    env: "EBC_BACKEND",
    title: "Backend",
    description:
      "Where the editing runs: auto (the NemoVideo cloud when a token is set or it answers, else this computer), cloud, or local (offline, on this computer; needs ffmpeg).",
    default: "auto",
    required: false,
  },
  nemo_token: {
    env: "NEMO_TOKEN",
    title: "NemoVideo token",
    description:
      "Your NemoVideo token (nmv_usr_…), for a registered account. Leave empty to use a free anonymous token, or the local backend.",
    sensitive: true,
    required: false,
  },
  ffmpeg: {
    env: "EBC_FFMPEG",
    title: "ffmpeg",
    description:
      "Full path of ffmpeg, if it is not in /opt/homebrew/bin, /usr/local/bin or on PATH (only the local backend needs it).",
    type: "file",
    required: false,
  },
  ffprobe: {
    env: "EBC_FFPROBE",
    title: "ffprobe",
    description: "Full path of ffprobe, if it is not next to ffmpeg in a usual folder (local backend only).",
    type: "file",
    required: false,
  },
};

if (what === "manifest") {
  const platform = a; // darwin, win32 or linux
  const exe = b;
  const user_config = {};
  const env = {};
  for (const [key, s] of Object.entries(settings)) {
    user_config[key] = {
      type: s.type ?? "string",
      title: s.title,
      description: s.description,
      required: s.required,
      ...(s.default !== undefined ? { default: s.default } : {}),
      ...(s.sensitive ? { sensitive: true } : {}),
    };
    env[s.env] = `\${user_config.${key}}`;
  }
  const manifest = {
    manifest_version: "0.3",
    name: ours.name,
    display_name: "Editor Background Changer",
    version: ours.version,
    description: "Replace the background of your video clips and export a 1080p MP4.",
    // The MCP App (ui:// resource) is not a field of manifest 0.3: it is described in words.
    long_description: `${ours.description} ${ours.app.description} Its resource: ${ours.app.resourceUri} (${ours.app.mimeType}), shown with ${ours.app.tools.join(", ")}. ${ours.consent}`,
    author: { name: "NemoVideo" },
    license: ours.license,
    keywords: ["video", "background", "editing", "mp4", "mcp-app"],
    server: {
      type: "binary",
      entry_point: `server/${exe}`,
      mcp_config: {
        command: `\${__dirname}/server/${exe}`,
        args: ["serve"],
        env,
      },
    },
    tools: ours.tools.map((t) => ({ name: t.name, description: t.description })),
    tools_generated: false,
    compatibility: { platforms: [platform] },
    user_config,
  };
  process.stdout.write(JSON.stringify(manifest, null, 2) + "\n");
} else if (what === "server-json") {
  const environmentVariables = Object.values(settings).map((s) => ({
    name: s.env,
    description: s.description,
    isRequired: false,
    ...(s.sensitive ? { isSecret: true } : {}),
    ...(s.default !== undefined ? { default: s.default } : {}),
  }));
  const bundles = readdirSync(a)
    .filter((f) => f.endsWith(".mcpb"))
    .sort();
  if (bundles.length === 0) {
    console.error(`server-json: no .mcpb bundle in ${a}`);
    process.exit(1);
  }
  const packages = bundles.map((file) => ({
    registryType: "mcpb",
    identifier: `${b.replace(/\/$/, "")}/${file}`,
    version: ours.version,
    fileSha256: createHash("sha256").update(readFileSync(join(a, file))).digest("hex"),
    transport: { type: "stdio" },
    environmentVariables,
  }));
  packages.push({
    registryType: "cargo",
    registryBaseUrl: "https://crates.io",
    identifier: ours.name,
    version: ours.version,
    transport: { type: "stdio" },
    packageArguments: [{ type: "positional", value: "serve" }],
    environmentVariables,
  });
  const server = {
    $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
    name: "io.github.nemovideo/editor-background-changer",
    title: "Editor Background Changer",
    description: "Replace video backgrounds and export MP4, in the cloud or offline; an MCP App previews it.",
    version: ours.version,
    packages,
    // The registry's place for data of the publisher's own (server.schema.json `_meta`).
    _meta: {
      "io.modelcontextprotocol.registry/publisher-provided": {
        mcpApp: {
          extension: "io.modelcontextprotocol/ui",
          resourceUri: ours.app.resourceUri,
          mimeType: ours.app.mimeType,
          tools: ours.app.tools,
          description: ours.app.description,
        },
      },
    },
  };
  process.stdout.write(JSON.stringify(server, null, 2) + "\n");
} else {
  console.error("usage: mcpb.mjs manifest PLATFORM EXE_NAME | server-json BUNDLE_DIR RELEASE_BASE_URL");
  process.exit(2);
}
