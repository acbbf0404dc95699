//! Which uploaded names came from which local files in this server's lifetime, so
//! replace_background can render a preview from the original clip.

use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Default)]
pub struct Uploads {
    files: Mutex<Vec<(String, PathBuf)>>,
}

impl Uploads {
    pub fn record(&self, name: &str, path: PathBuf) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.retain(|(n, _)| n != name);
        files.push((name.to_string(), path));
    }

    /// The local file uploaded under `name` (exact, else case-insensitive).
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .or_else(|| {
                files
                    .iter()
                    .rev()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .map(|(_, p)| p.clone())
    }

    /// The most recent local upload of a video clip (by extension).
    pub fn latest_video(&self) -> Option<(String, PathBuf)> {
        const VIDEO: &[&str] = &["mp4", "mov", "avi", "webm", "mkv", "m4v"];
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .iter()
            .rev()
            .find(|(_, p)| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| VIDEO.contains(&e.to_ascii_lowercase().as_str()))
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_their_latest_path() {
        let u = Uploads::default();
        assert!(u.latest_video().is_none());
        u.record("a.mp4", "/x/a.mp4".into());
        u.record("b.mp4", "/x/b.mp4".into());
        u.record("a.mp4", "/y/a.mp4".into());
        assert_eq!(u.path_of("a.mp4"), Some("/y/a.mp4".into()));
        assert_eq!(u.path_of("B.MP4"), Some("/x/b.mp4".into()));
        assert_eq!(u.path_of("c.mp4"), None);
        assert_eq!(u.latest_video(), Some(("a.mp4".into(), "/y/a.mp4".into())));
        u.record("sky.png", "/y/sky.png".into());
        assert_eq!(u.latest_video().unwrap().0, "a.mp4");
    }
}
