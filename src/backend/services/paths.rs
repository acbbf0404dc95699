//! Local paths a request may name (`file://` upload URLs, a backdrop path): only regular
//! files inside the configured roots, after resolving `..` and symlinks.

use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::backend::error::Error;

/// The file a `file://` URL names, if it resolves (after `..` and symlinks) to a regular
/// file inside one of `roots`.
pub fn allowed_file(roots: &[PathBuf], url: &Url, raw: &str) -> Result<PathBuf, Error> {
    if roots.is_empty() {
        return Err(Error::Invalid(format!(
            "{raw}: file:// URLs are disabled on this backend; start it with --url-root DIR, or upload the file itself"
        )));
    }
    let outside = || {
        Error::Invalid(format!(
            "{raw} is outside the folders this backend may read; copy the file into one of them or upload it as multipart"
        ))
    };
    if url
        .host_str()
        .is_some_and(|h| !h.is_empty() && h != "localhost")
    {
        return Err(outside());
    }
    let path = url.to_file_path().map_err(|_| outside())?;
    allowed_path(roots, &path)
}

/// `path` resolved (`..`, symlinks) if it is a regular file inside one of `roots`.
pub fn allowed_path(roots: &[PathBuf], path: &Path) -> Result<PathBuf, Error> {
    let shown = path.display();
    if roots.is_empty() {
        return Err(Error::Invalid(format!(
            "{shown}: local paths are disabled on this backend; start it with --url-root DIR, or upload the file itself"
        )));
    }
    let real = path
        .canonicalize()
        .map_err(|_| Error::Invalid(format!("{shown}: no such file; check the path")))?;
    let inside = roots.iter().any(|root| {
        root.canonicalize()
            .map(|r| real.starts_with(&r))
            .unwrap_or(false)
    });
    if !inside {
        return Err(Error::Invalid(format!(
            "{shown} is outside the folders this backend may read; copy the file into one of them or upload it as multipart"
        )));
    }
    if !real.is_file() {
        return Err(Error::Invalid(format!(
            "{shown} is not a regular file"
        )));
    }
    Ok(real)
}
