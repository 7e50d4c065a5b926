//! Log lines to stderr and, once the data dir is known, to a file in it.
//! Callers never pass secrets: passwords are redacted before they get here.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Log {
    prefix: String,
    file: Mutex<Option<File>>,
}

impl Log {
    pub fn new(prefix: &str) -> Log {
        Log {
            prefix: prefix.to_string(),
            file: Mutex::new(None),
        }
    }

    /// From now on lines are also appended to `path`.
    pub fn to_file(&self, path: &Path) -> std::io::Result<()> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if let Ok(mut slot) = self.file.lock() {
            *slot = Some(file);
        }
        Ok(())
    }

    pub fn line(&self, msg: &str) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let text = format!("{secs} {}: {msg}\n", self.prefix);
        eprint!("{text}");
        let Ok(mut slot) = self.file.lock() else {
            return;
        };
        if let Some(file) = slot.as_mut() {
            // A full disk must not stop the stand-in: stderr has the line too.
            let _ = file.write_all(text.as_bytes());
        }
    }
}
