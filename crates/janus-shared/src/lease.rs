//! The gateway's lease on the broker connection, with a fencing token.
//!
//! One gateway trades an account at a time. It holds the `lease` key (`SET NX PX`) and renews
//! it well within its time to live; taking the lease increments the account's `fence` counter,
//! and that number is the gateway's fencing token. Every ledger script the gateway runs checks
//! the token against the current one, so a gateway that was paused past its lease (a long GC
//! pause, a frozen VM, a network partition) and wakes up still believing it owns the account
//! is refused by the ledger on its next step and stops, instead of sending orders a second
//! gateway also sends.

use crate::ledger::{connect, redis_error};
use crate::{Result, SharedConfig, SharedError};
use redis::{Connection, Script};

const ACQUIRE: &str = r#"
-- KEYS: lease, fence. ARGV: owner, ttl ms, lowest acceptable token.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local t = redis.call('INCR', KEYS[2])
  local low = tonumber(ARGV[3])
  if t < low then
    t = low
    redis.call('SET', KEYS[2], string.format('%d', t))
  end
  return t
end
return 0
"#;

const RENEW: &str = r#"
-- KEYS: lease, fence. ARGV: owner, ttl ms, token.
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// A lease held by this process.
pub struct Lease {
    cfg: SharedConfig,
    conn: Connection,
    owner: String,
    token: u64,
}

impl Lease {
    /// Take the lease if nobody holds it. `at_least` is the lowest token acceptable (after
    /// Redis lost the counter, the journal's highest token plus one), so tokens never go back.
    pub fn try_acquire(cfg: &SharedConfig, owner: &str, at_least: u64) -> Result<Option<Lease>> {
        let (_, mut conn) = connect(cfg)?;
        let token: u64 = Script::new(ACQUIRE)
            .key(cfg.key("lease"))
            .key(cfg.key("fence"))
            .arg(owner)
            .arg(cfg.lease_ttl.as_millis() as u64)
            .arg(at_least)
            .invoke(&mut conn)
            .map_err(|e| redis_error(cfg, e))?;
        Ok((token > 0).then(|| Lease { cfg: cfg.clone(), conn, owner: owner.to_string(), token }))
    }

    /// Wait for the lease up to `wait`, retrying every tenth of the lease's time to live.
    pub fn acquire(cfg: &SharedConfig, owner: &str, at_least: u64, wait: std::time::Duration) -> Result<Lease> {
        let until = std::time::Instant::now() + wait;
        loop {
            if let Some(l) = Lease::try_acquire(cfg, owner, at_least)? {
                return Ok(l);
            }
            if std::time::Instant::now() >= until {
                let holder: Option<String> = {
                    let (_, mut c) = connect(cfg)?;
                    redis::cmd("GET").arg(cfg.key("lease")).query(&mut c).map_err(|e| redis_error(cfg, e))?
                };
                return Err(SharedError::Stale(format!(
                    "another gateway ({}) holds the lease of account {}; stop it or wait for its lease to lapse",
                    holder.unwrap_or_else(|| "?".into()),
                    cfg.account
                )));
            }
            std::thread::sleep(cfg.lease_ttl / 10);
        }
    }

    pub fn token(&self) -> u64 {
        self.token
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Extend the lease. An error when it was lost (expired and taken, or Redis restarted).
    pub fn renew(&mut self) -> Result<()> {
        let ok: i64 = Script::new(RENEW)
            .key(self.cfg.key("lease"))
            .key(self.cfg.key("fence"))
            .arg(&self.owner)
            .arg(self.cfg.lease_ttl.as_millis() as u64)
            .arg(self.token)
            .invoke(&mut self.conn)
            .map_err(|e| redis_error(&self.cfg, e))?;
        if ok == 1 {
            Ok(())
        } else {
            Err(SharedError::Stale(format!("lease of account {} lost (token {})", self.cfg.account, self.token)))
        }
    }

    /// Give the lease up (a clean stop), so the next gateway need not wait for it to lapse.
    pub fn release(mut self) -> Result<()> {
        let _: i64 = Script::new(RELEASE)
            .key(self.cfg.key("lease"))
            .arg(&self.owner)
            .invoke(&mut self.conn)
            .map_err(|e| redis_error(&self.cfg, e))?;
        Ok(())
    }
}
