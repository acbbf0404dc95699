//! Load run of the embedded backend over loopback HTTP: N concurrent users each get a token,
//! open a session, upload a fixture clip, ask the agent for a background and render; every
//! output is downloaded and checked with ffprobe. A single user alone is measured first in
//! the same run as the baseline. Prints a table (total time, mean per render, peak RSS).
//!
//! `cargo run --release --example backend_load -- [USERS] [WORKERS] [CLIP]`
//! (defaults: 8 users, 1 worker, talking_720p.mp4 from `EBC_FIXTURES` or tests/fixtures).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ebc::backend;
use ebc::config::BackendConfig;
use serde_json::{Value, json};

type Res<T> = Result<T, String>;

fn fixtures() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

/// Peak resident set of this process (server, engine and clients), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn call(rb: reqwest::RequestBuilder) -> Res<Value> {
    let r = rb.send().await.map_err(|e| e.to_string())?;
    let st = r.status();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if !st.is_success() || v["code"].as_i64().unwrap_or(0) != 0 {
        return Err(format!("HTTP {st}: {v}"));
    }
    Ok(v["data"].clone())
}

/// One user's whole flow; returns (render seconds, output frames).
async fn user_flow(base: String, clip: PathBuf, n: usize, out_dir: PathBuf) -> Res<(f64, u64)> {
    let http = reqwest::Client::new();
    let tok = call(
        http.post(format!("{base}/api/auth/anonymous-token"))
            .header("X-Client-Id", format!("load-{n}")),
    )
    .await?;
    let token = tok["token"].as_str().ok_or("no token")?.to_string();
    let req = |m: reqwest::Method, p: &str| {
        http.request(m, format!("{base}{p}"))
            .bearer_auth(&token)
            .header("X-Skill-Source", "editor-background-changer")
            .header("X-Skill-Version", ebc::VERSION)
            .header("X-Skill-Platform", "unknown")
    };
    let s = call(
        req(
            reqwest::Method::POST,
            "/api/tasks/me/with-session/nemo_agent",
        )
        .json(&json!({"task_name":"project","language":"en"})),
    )
    .await?;
    let sid = s["session_id"].as_str().ok_or("no session")?.to_string();
    let bytes = tokio::fs::read(&clip).await.map_err(|e| e.to_string())?;
    let form = reqwest::multipart::Form::new().part(
        "files",
        reqwest::multipart::Part::bytes(bytes).file_name("clip.mp4"),
    );
    call(
        req(
            reqwest::Method::POST,
            &format!("/api/upload-video/nemo_agent/me/{sid}"),
        )
        .multipart(form),
    )
    .await?;
    let asks = [
        "replace my office background with a clean studio backdrop",
        "blur the background",
        "把背景换成白色",
        "make the background navy",
    ];
    let sse = req(reqwest::Method::POST, "/run_sse")
        .json(
            &json!({"app_name":"nemo_agent","user_id":"me","session_id":sid,
                      "new_message":{"parts":[{"text": asks[n % asks.len()]}]}}),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    if !sse.contains("\"status\":\"ok\"") {
        return Err(format!("agent did not apply the edit: {sse}"));
    }
    let state = call(req(
        reqwest::Method::GET,
        &format!("/api/state/nemo_agent/me/{sid}/latest"),
    ))
    .await?;
    let id = format!("render_load_{n}_{}", uuid::Uuid::new_v4().simple());
    let t0 = Instant::now();
    call(
        req(reqwest::Method::POST, "/api/render/proxy/lambda").json(&json!({
        "id": id, "sessionId": sid, "draft": state["state"]["draft"],
        "output": {"format":"mp4","quality":"high"}})),
    )
    .await?;
    let url = loop {
        let st = call(req(
            reqwest::Method::GET,
            &format!("/api/render/proxy/lambda/{id}"),
        ))
        .await?;
        match st["status"].as_str() {
            Some("completed") => break st["outputUrl"].as_str().ok_or("no url")?.to_string(),
            Some("failed" | "cancelled") => return Err(format!("render {id}: {st}")),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let render_s = t0.elapsed().as_secs_f64();
    let out = out_dir.join(format!("{id}.mp4"));
    let body = http
        .get(url)
        .bearer_auth(&token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    tokio::fs::write(&out, &body)
        .await
        .map_err(|e| e.to_string())?;
    let frames = ffprobe_frames(&out)?;
    Ok((render_s, frames))
}

fn ffprobe_frames(path: &Path) -> Res<u64> {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&o.stdout);
    let mut it = text.trim().split(',');
    match (it.next(), it.next().and_then(|f| f.parse().ok())) {
        (Some("h264"), Some(frames)) if o.status.success() => Ok(frames),
        _ => Err(format!(
            "{} is not a valid H.264 output: {text}",
            path.display()
        )),
    }
}

async fn round(users: usize, workers: usize, clip: &Path) -> Res<(f64, f64, u64)> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cfg = BackendConfig::ephemeral(dir.path().join("data"));
    cfg.render_workers = workers;
    let b = backend::spawn(cfg).await.map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..users {
        tasks.push(tokio::spawn(user_flow(
            b.url(),
            clip.to_path_buf(),
            n,
            dir.path().to_path_buf(),
        )));
    }
    let mut render_total = 0.0;
    let mut frames = None;
    for t in tasks {
        let (secs, f) = t.await.map_err(|e| e.to_string())??;
        render_total += secs;
        if *frames.get_or_insert(f) != f {
            return Err(format!("frame counts differ: {f} vs {frames:?}"));
        }
    }
    let total = t0.elapsed().as_secs_f64();
    b.shutdown().await;
    Ok((total, render_total / users as f64, frames.unwrap_or(0)))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let users: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(8);
    let workers: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let clip = fixtures().join("clips").join(
        args.get(2)
            .map(String::as_str)
            .unwrap_or("talking_720p.mp4"),
    );
    let name = clip
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!(
        "| run | users | workers | clip | total s | mean submit→done s | per clip s | frames each | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (t1, m1, f1) = round(1, 1, &clip).await?;
    println!(
        "| baseline (1 user alone) | 1 | 1 | {name} | {t1:.2} | {m1:.2} | {t1:.2} | {f1} | {:.0} |",
        peak_rss_mb()
    );
    let (t, m, f) = round(users, workers, &clip).await?;
    println!(
        "| load | {users} | {workers} | {name} | {t:.2} | {m:.2} | {:.2} | {f} | {:.0} |",
        t / users as f64,
        peak_rss_mb()
    );
    println!("all {users} renders completed; every output is H.264 with {f} frames");
    Ok(())
}
