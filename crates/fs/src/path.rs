//! Guest path parsing shared by every filesystem wrapper (our own code: the path rules are this
//! crate's contract, documented in the crate docs).

use crate::FsError;

/// Longest guest path accepted (Linux `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;

/// Split an absolute guest path into its components: empty and `.` components are dropped,
/// `..` and relative paths are refused.
pub(crate) fn components(path: &str) -> Result<Vec<&str>, FsError> {
    let bad = |reason| FsError::InvalidPath {
        path: path.chars().take(256).collect(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(bad("not absolute"));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(bad("longer than 4096 bytes"));
    }
    if path.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(bad("contains a .. component; resolve it in the guest view")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The normalised form `/a/b` of a component list (`/` for none).
pub(crate) fn join(components: &[&str]) -> String {
    if components.is_empty() {
        return "/".to_string();
    }
    let mut s = String::new();
    for c in components {
        s.push('/');
        s.push_str(c);
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_refuses() {
        assert_eq!(components("/").unwrap(), Vec::<&str>::new());
        assert_eq!(components("//a/./b/").unwrap(), vec!["a", "b"]);
        assert_eq!(join(&components("//a/./b/").unwrap()), "/a/b");
        assert_eq!(join(&[]), "/");
        assert!(components("a/b").is_err());
        assert_eq!(
            components("/a/../b").unwrap_err().to_string(),
            "invalid guest path \"/a/../b\": contains a .. component; resolve it in the guest view"
        );
        assert!(components(&format!("/{}", "x".repeat(5000))).is_err());
    }
}
