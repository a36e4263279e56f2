//! Refusal log lines: what an operator needs, and never a flood.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::WebhookRejection;

impl WebhookRejection {
    /// Logs the refusal at WARN (a duplicate at INFO) with what an operator needs: status, reason,
    /// the event header (untrusted: escaped and cut to 64 bytes) and the peer.
    /// At most [`LINES_PER_SECOND`] lines a second: the refusals left out are
    /// counted per reason and reported by the next line.
    pub(crate) fn log(&self, event: Option<&[u8]>, peer: Option<SocketAddr>) {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut window = WINDOW.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(left_out) = window.admit(second, self.reason()) else {
            return;
        };
        drop(window);
        let event = event.map(|e| String::from_utf8_lossy(&e[..e.len().min(64)]).into_owned());
        let left_out = (!left_out.is_empty()).then(|| format!("{left_out:?}"));
        let status = self.status().as_u16();
        // A duplicate is answered 200: a replay caught, not a fault.
        if let WebhookRejection::Duplicate = self {
            tracing::info!(
                status,
                reason = self.reason(),
                event = ?event,
                peer = ?peer,
                left_out,
                "acknowledged a duplicate webhook delivery without running the handler"
            );
        } else {
            tracing::warn!(
                status,
                reason = self.reason(),
                event = ?event,
                peer = ?peer,
                left_out,
                "refused a webhook delivery"
            );
        }
    }
}

/// Refusal lines logged per second at most, so that a flood of forgeries
/// cannot become a flood of log lines.
const LINES_PER_SECOND: u32 = 10;

struct LogWindow {
    second: u64,
    lines: u32,
    left_out: BTreeMap<&'static str, u64>,
}

impl LogWindow {
    /// The refusals left out since the last line, if this one may be logged.
    fn admit(&mut self, second: u64, reason: &'static str) -> Option<BTreeMap<&'static str, u64>> {
        if second != self.second {
            self.second = second;
            self.lines = 0;
        }
        if self.lines >= LINES_PER_SECOND {
            *self.left_out.entry(reason).or_default() += 1;
            return None;
        }
        self.lines += 1;
        Some(std::mem::take(&mut self.left_out))
    }
}

static WINDOW: Mutex<LogWindow> = Mutex::new(LogWindow {
    second: 0,
    lines: 0,
    left_out: BTreeMap::new(),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_logged_in_bounded_lines_and_counted() {
        let mut window = LogWindow {
            second: 0,
            lines: 0,
            left_out: BTreeMap::new(),
        };
        let admitted = (0..1000)
            .filter(|_| window.admit(7, "signature_mismatch").is_some())
            .count();
        assert_eq!(admitted, LINES_PER_SECOND as usize);
        assert!(window.admit(7, "body_timeout").is_none());
        let summary = window.admit(8, "signature_mismatch").unwrap();
        let expected = 1000 - u64::from(LINES_PER_SECOND);
        assert_eq!(
            summary,
            BTreeMap::from([("body_timeout", 1), ("signature_mismatch", expected)])
        );
        assert_eq!(window.admit(8, "signature_mismatch"), Some(BTreeMap::new()));
    }
}
