//! Opening a Redis connection: the password from the URL or `REDISCLI_AUTH`, timeouts on the
//! handshake and on every later command, and advice when the server refuses the client.

use ::redis::{Client, Connection, RedisError};
use std::time::Duration;

/// Where the password given to the server came from, for advice when it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordFrom {
    Url,
    Env,
    Nowhere,
}

/// The server refused the client: a password is missing, wrong, or not expected.
pub fn is_auth_error(e: &RedisError) -> bool {
    e.kind() == ::redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
        || e.to_string().contains("NOAUTH")
}

/// What to tell the user when the server refuses the client.
pub fn auth_advice(shown: &str, from: PasswordFrom, e: &RedisError) -> String {
    let how = "put it in the URL (redis://:PASSWORD@HOST:PORT/DB, or redis://USER:PASSWORD@... with an ACL user) \
               or in the REDISCLI_AUTH environment variable";
    match from {
        PasswordFrom::Nowhere => format!("Redis at {shown} requires a password and none was given ({e}); {how}"),
        PasswordFrom::Url => format!(
            "Redis at {shown} refused the password in the URL ({e}); check it (or drop it if the server has none), \
             or {how}"
        ),
        PasswordFrom::Env => format!(
            "Redis at {shown} refused the password in REDISCLI_AUTH ({e}); check it (or unset it if the server has \
             none), or put it in the URL as redis://:PASSWORD@HOST:PORT/DB"
        ),
    }
}

/// The URL to connect with: `REDISCLI_AUTH` fills in the password when the URL has none.
pub fn with_env_password(url: &str) -> (String, PasswordFrom) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let at = url[after_scheme..].rfind('@').map(|i| after_scheme + i);
    let user = at.map(|at| &url[after_scheme..at]);
    if user.is_some_and(|u| u.contains(':')) {
        return (url.to_string(), PasswordFrom::Url);
    }
    match std::env::var("REDISCLI_AUTH") {
        Ok(pw) if !pw.is_empty() => {
            let encoded: String = pw
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            let rest = at.map_or(&url[after_scheme..], |at| &url[at + 1..]);
            (format!("{}{}:{encoded}@{rest}", &url[..after_scheme], user.unwrap_or("")), PasswordFrom::Env)
        }
        _ => (url.to_string(), PasswordFrom::Nowhere),
    }
}

/// A connection whose handshake is bounded by `connect_timeout` and every later command by
/// `io_timeout` (socket read and write timeouts).
pub fn connect(client: &Client, connect_timeout: Duration, io_timeout: Duration) -> Result<Connection, RedisError> {
    let conn = client.get_connection_with_timeout(connect_timeout)?;
    conn.set_read_timeout(Some(io_timeout))?;
    conn.set_write_timeout(Some(io_timeout))?;
    Ok(conn)
}
