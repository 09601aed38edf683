//! Limits on guessing credentials, per replica and in memory (OWASP's authentication cheat
//! sheet; the numbers are GitLab's): sign-in attempts per client address, failed sign-ins per
//! account, failed token authentications per client address. An exceeded limit answers 429
//! with `Retry-After` until its window ends.
//!
//! Counting only failures, and refusing before the credential is checked, needs a counter that
//! can be read without being spent, which the rate-limiting crates (token buckets) do not
//! offer; so this is a fixed-window counter per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most; past that, expired windows are dropped, and if none has expired the
/// oldest window goes (an attacker cycling addresses cannot grow memory without bound).
const MAX_KEYS: usize = 100_000;

/// At most `limit` events per key in each `window`; a limit of 0 turns it off.
pub struct Throttle {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Throttle {
        Throttle {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when `key` has used up its window.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get(key) {
            Some((started, count)) if *count >= self.limit => {
                let left = self.window.saturating_sub(started.elapsed());
                if left.is_zero() { Ok(()) } else { Err(left) }
            }
            _ => Ok(()),
        }
    }

    /// Counts one event for `key`; `Err(retry_after)` when it goes over the limit.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_KEYS && !counts.contains_key(key) {
            counts.retain(|_, (started, _)| now.duration_since(*started) < self.window);
            if counts.len() >= MAX_KEYS
                && let Some(oldest) = counts
                    .iter()
                    .min_by_key(|(_, (s, _))| *s)
                    .map(|(k, _)| k.clone())
            {
                counts.remove(&oldest);
            }
        }
        let entry = counts.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.limit {
            Err(self.window.saturating_sub(now.duration_since(entry.0)))
        } else {
            Ok(())
        }
    }
}

/// The limits Hangar applies.
pub struct Throttles {
    /// Sign-in posts per client address (GitLab's protected paths: 10 a minute).
    pub sign_in_per_client: Throttle,
    /// Failed sign-ins per username (GitLab locks an account for 10 minutes after 10).
    pub sign_in_failures_per_account: Throttle,
    /// Failed token authentications per client address (GitLab bans after 30 a minute).
    pub token_failures_per_client: Throttle,
}

impl Default for Throttles {
    fn default() -> Self {
        Throttles {
            sign_in_per_client: Throttle::new(10, Duration::from_secs(60)),
            sign_in_failures_per_account: Throttle::new(10, Duration::from_secs(600)),
            token_failures_per_client: Throttle::new(30, Duration::from_secs(60)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Throttle;
    use std::time::Duration;

    #[test]
    fn a_key_is_refused_past_its_limit_until_the_window_ends() {
        let throttle = Throttle::new(2, Duration::from_millis(200));
        assert!(throttle.hit("a").is_ok() && throttle.hit("a").is_ok());
        assert!(
            throttle.check("a").is_err(),
            "spent, so refused before the next try"
        );
        assert!(throttle.hit("a").is_err());
        assert!(throttle.check("b").is_ok() && throttle.hit("b").is_ok());
        std::thread::sleep(Duration::from_millis(250));
        assert!(throttle.check("a").is_ok());
        assert!(throttle.hit("a").is_ok());
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let throttle = Throttle::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(throttle.hit("a").is_ok());
        }
        assert!(throttle.check("a").is_ok());
    }
}
