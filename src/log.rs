//! One line per event on stderr. Secrets never reach these macros: callers pass
//! names and paths, never values read from a secret. As a second guard, every
//! message and detail goes through `redact::scrub` here, in both formats, so
//! a secret quoted from a file (a YAML holding the seed) prints as
//! `<redacted>`.
//!
//! Human-readable by default (`dokomodo: info: ...`). With
//! `DOKOMODO_LOG_FORMAT=json`, one JSON object per line for log collectors:
//! `{"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"..."}`.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub const FORMAT_VAR: &str = "DOKOMODO_LOG_FORMAT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Read once: a format that changed halfway through a container's log would
/// break whatever parses it.
pub fn format() -> Format {
    static FORMAT: OnceLock<Format> = OnceLock::new();
    *FORMAT.get_or_init(|| match std::env::var_os(FORMAT_VAR) {
        Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Human,
    })
}

/// Writes one event. Errors writing to stderr are ignored: there is nowhere
/// else to report them, and an init must not die because stderr is closed.
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    let message = args.to_string();
    let line = line(
        format(),
        level,
        &crate::redact::scrub(&message),
        SystemTime::now(),
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A message with lines to show under it (a YAML snippet): as they are for a
/// person, folded into the one event in JSON.
pub fn emit_with_detail(level: Level, message: &str, detail: Option<&str>) {
    match (format(), detail) {
        (Format::Json, Some(detail)) => emit(level, format_args!("{message}\n{detail}")),
        (Format::Human, Some(detail)) => {
            emit(level, format_args!("{message}"));
            let _ = std::io::stderr()
                .lock()
                .write_all(format!("{}\n", crate::redact::scrub(detail)).as_bytes());
        }
        (_, None) => emit(level, format_args!("{message}")),
    }
}

fn line(format: Format, level: Level, msg: &str, now: SystemTime) -> String {
    match format {
        Format::Human => format!("dokomodo: {}: {msg}\n", level.as_str()),
        Format::Json => {
            let mut out = String::with_capacity(msg.len() + 64);
            out.push_str("{\"ts\":\"");
            out.push_str(&rfc3339(now));
            out.push_str("\",\"level\":\"");
            out.push_str(level.as_str());
            out.push_str("\",\"msg\":");
            crate::json::string_literal(&mut out, msg);
            out.push_str("}\n");
            out
        }
    }
}

/// UTC, millisecond precision: `2025-01-02T03:04:05.678Z`. A clock before
/// 1970 (a container without RTC) prints as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date, by 400-year eras
/// (146097 days each) so leap years need no loop.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Info, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Warn, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Error, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        // `date -u -d @951782400` : the leap day of a year divisible by 400.
        assert_eq!(rfc3339(at(951_782_400, 5)), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(at(1_709_251_199, 999)), "2024-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(at(4_107_542_400, 0)), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(1_735_787_045, 678)), "2025-01-02T03:04:05.678Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_is_one_day_after_the_previous() {
        let mut prev = civil_from_days(-1);
        assert_eq!(prev, (1969, 12, 31));
        for d in 0..146_097 {
            let (y, m, day) = civil_from_days(d);
            let next_day = (prev.0, prev.1, prev.2 + 1) == (y, m, day);
            let next_month = (prev.0, prev.1 + 1, 1) == (y, m, day);
            let next_year = (prev.0 + 1, 1, 1) == (y, m, day) && prev.1 == 12 && prev.2 == 31;
            assert!(
                next_day || next_month || next_year,
                "{prev:?} -> {:?}",
                (y, m, day)
            );
            prev = (y, m, day);
        }
    }

    #[test]
    fn json_lines_escape_the_message() {
        let l = line(Format::Json, Level::Warn, "a \"quoted\"\nline", at(0, 0));
        assert_eq!(
            l,
            "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warning\",\"msg\":\"a \\\"quoted\\\"\\nline\"}\n"
        );
        assert_eq!(
            line(Format::Human, Level::Info, "x", at(0, 0)),
            "dokomodo: info: x\n"
        );
    }
}
