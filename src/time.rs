//! Times as the crate's messages and the command-line tool print them.

/// `t` as `YYYY-MM-DDTHH:MM:SSZ` (UTC), as the crate's messages and the command-line tool
/// print times; the seconds since the epoch for a time outside the years 1970 to 9999.
pub fn format_utc(t: std::time::SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(d) => d.to_string(),
        Err(_) => {
            let secs = match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => i128::from(d.as_secs()),
                Err(e) => -i128::from(e.duration().as_secs()),
            };
            format!("{secs} s after the epoch")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_the_calendar_do_not_panic() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_secs(86_400)),
            "1970-01-02T00:00:00Z"
        );
        assert_eq!(
            format_utc(UNIX_EPOCH - Duration::from_secs(86_400)),
            "-86400 s after the epoch"
        );
    }
}
