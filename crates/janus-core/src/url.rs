//! URLs fit to show: every place Janus prints or stores a server URL (a store, a feed, a
//! broker gateway) takes the password out first, the same way.

/// Query parameters that carry a password.
pub const PASSWORD_PARAMS: [&str; 3] = ["password", "pass", "passwd"];

/// Where the user info of a URL (`user:password` before the last '@' of the authority) sits.
pub fn userinfo(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    // The last '@' ends the user info even if an unescaped password contains '/' or '?';
    // erring toward redacting too much is the safe side.
    let at = url[start..].rfind('@')?;
    Some((start, start + at))
}

/// The URL with any password replaced by `***`, both in the user-info part
/// (`postgres://user:***@host/db`) and in `password=` query parameters.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some((start, end)) = userinfo(url) {
        if let Some(colon) = url[start..end].find(':') {
            out = format!("{}:***{}", &url[..start + colon], &url[end..]);
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if PASSWORD_PARAMS.contains(&k.to_ascii_lowercase().as_str()) => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_password_never_appears_in_a_shown_url() {
        assert_eq!(redact("redis://:secret@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(redact("nats://user:pw@127.0.0.1:4222"), "nats://user:***@127.0.0.1:4222");
        assert_eq!(
            redact("postgres://bob@h/db?password=x&sslmode=disable"),
            "postgres://bob@h/db?password=***&sslmode=disable"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("file:bars.csv"), "file:bars.csv");
    }
}
