//! Janus storage backends behind the core [`janus_core::Store`] trait.
//!
//! A store is chosen by URL ([`open_store`]): `memory` keeps runs in process memory
//! ([`MemoryStore`], the default: persistence costs nothing); `sqlite:PATH` is the embedded
//! choice for persisted runs; `postgres://USER@HOST:PORT/DB` and `redis://HOST:PORT/DB` share
//! runs between machines and processes. The persistent backends implement [`Backend`] (whole
//! days written atomically and idempotently) and are wrapped in [`Persistent`], which batches
//! days into few transactions and reconnects with backoff when the server goes away. Every
//! call to a server has a connect timeout and a read/write timeout ([`StoreOptions`]), so a
//! server that hangs stops a run after the retry time instead of never; [`Committed`] tells the
//! opener what the store durably holds of each run, so a failure can say whether (and how) the
//! run can be resumed. Every backend also keeps the journal (sequenced events per run and
//! strategy instance, written with their day or appended ahead of it, idempotent per sequence
//! number) and each instance's latest checkpoint, both read by key so that a resume costs the
//! same however long the run. URLs are shown only through [`redact`], so a password never
//! reaches a log or an error message.
#![forbid(unsafe_code)]

mod codec;
mod memory;
mod persistent;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use memory::MemoryStore;

/// The SQL tables that hold a run's rows (besides `runs`), as both SQL backends' migrations
/// create them; a run is deleted table by table.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const RUN_TABLES: [&str; 9] = [
    "account_snapshots",
    "position_snapshots",
    "positions_active",
    "orders_history",
    "risk_events",
    "execution_logs",
    "corporate_actions",
    "journal_events",
    "run_checkpoints",
];
pub use persistent::{Backend, Committed, Fault, Held, Persistent, StoreOptions};

use janus_core::{Store, StoreError};
use std::path::PathBuf;

/// A parsed store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    Memory,
    /// `sqlite:PATH` (or `sqlite://PATH`).
    Sqlite(PathBuf),
    /// `postgres://...`; `schema` comes from the Janus-only query parameter `schema=NAME`
    /// (tables go to that schema, created if missing), removed from `url`.
    Postgres {
        url: String,
        schema: Option<String>,
    },
    /// `redis://...`; every key starts with `prefix` (query parameter `prefix=NAME`, default
    /// `janus`), removed from `url`.
    Redis {
        url: String,
        prefix: String,
    },
}

const URL_FORMS: &str = "use `memory`, `sqlite:PATH`, `postgres://USER@HOST:PORT/DB` or `redis://HOST:PORT/DB`";

impl StoreUrl {
    pub fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        let bad = |reason: String| StoreError::InvalidUrl { url: redact(url), reason };
        let url = url.trim();
        if url.is_empty() || url == "memory" || url == "memory:" {
            return Ok(StoreUrl::Memory);
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad("`sqlite:` needs a file path, as in `sqlite:runs.db`".into()));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (url, schema) = take_param(url, "schema");
            if let Some(s) = &schema {
                if !is_identifier(s) {
                    return Err(bad(format!("schema {s:?} may use only a-z, 0-9 and '_', starting with a letter")));
                }
            }
            return Ok(StoreUrl::Postgres { url, schema });
        }
        if url.starts_with("redis://") {
            let (url, prefix) = take_param(url, "prefix");
            let prefix = prefix.unwrap_or_else(|| "janus".into());
            if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return Err(bad(format!("key prefix {prefix:?} may use only letters, digits, '-', '_' and '.'")));
            }
            return Ok(StoreUrl::Redis { url, prefix });
        }
        Err(bad(format!("unknown kind of store; {URL_FORMS}")))
    }

    pub fn is_memory(&self) -> bool {
        matches!(self, StoreUrl::Memory)
    }
}

/// Open the store a URL names with the default [`StoreOptions`]. A persistent store is
/// connected (and its schema migrated) here, so a wrong or unreachable URL fails before a run
/// starts.
pub fn open_store(url: &str) -> Result<Box<dyn Store>, StoreError> {
    open_store_with(url, &StoreOptions::default())
}

/// [`open_store`] with explicit batching, retry and timeout options.
pub fn open_store_with(url: &str, opts: &StoreOptions) -> Result<Box<dyn Store>, StoreError> {
    open_store_tracked(url, opts).map(|(store, _)| store)
}

/// [`open_store_with`], also returning the store's [`Committed`]: what the store is known to
/// hold of each run, readable after a failure even when the server no longer answers. The
/// memory store keeps nothing beyond the process, so its `Committed` stays empty.
pub fn open_store_tracked(url: &str, opts: &StoreOptions) -> Result<(Box<dyn Store>, Committed), StoreError> {
    let shown = redact(url);
    fn boxed<B: Backend + 'static>(p: Persistent<B>) -> (Box<dyn Store>, Committed) {
        let committed = p.committed();
        (Box::new(p), committed)
    }
    Ok(match StoreUrl::parse(url)? {
        StoreUrl::Memory => (Box::new(MemoryStore::new()), Committed::default()),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => boxed(Persistent::new(sqlite::SqliteBackend::open(&path)?, shown, opts.clone())),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres { url, schema } => {
            boxed(Persistent::new(postgres::PostgresBackend::open(&url, schema.as_deref(), opts)?, shown, opts.clone()))
        }
        #[cfg(feature = "redis")]
        StoreUrl::Redis { url, prefix } => {
            boxed(Persistent::new(redis::RedisBackend::open(&url, &prefix, opts)?, shown, opts.clone()))
        }
        #[allow(unreachable_patterns)]
        _ => {
            return Err(StoreError::InvalidUrl {
                url: shown,
                reason: "this build of Janus was compiled without that backend's feature".into(),
            })
        }
    })
}

/// Remove everything a URL's namespace holds: the PostgreSQL schema given by `schema=`, every
/// key under the Redis prefix, or the SQLite file. For tests and for clearing experiments.
pub fn drop_namespace(url: &str) -> Result<(), StoreError> {
    match StoreUrl::parse(url)? {
        StoreUrl::Memory => Ok(()),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            Ok(())
        }
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres { url, schema: Some(schema) } => postgres::drop_schema(&url, &schema),
        #[cfg(feature = "redis")]
        StoreUrl::Redis { url, prefix } => redis::drop_prefix(&url, &prefix),
        #[allow(unreachable_patterns)]
        _ => Err(StoreError::InvalidUrl { url: redact(url), reason: "no namespace to drop".into() }),
    }
}

pub use janus_core::url::redact;
use janus_core::url::{userinfo, PASSWORD_PARAMS};

/// The passwords a URL carries (in its user info or in `password=` query parameters), as
/// written and percent-decoded, longest first: what must be scrubbed from any text shown or
/// stored.
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut raw = Vec::new();
    if let Some((start, end)) = userinfo(url) {
        if let Some((_, pw)) = url[start..end].split_once(':') {
            raw.push(pw.to_string());
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for kv in query.split('&') {
            if let Some((k, v)) = kv.split_once('=') {
                if PASSWORD_PARAMS.contains(&k.to_ascii_lowercase().as_str()) {
                    raw.push(v.to_string());
                }
            }
        }
    }
    let mut out: Vec<String> =
        raw.iter().flat_map(|r| [r.clone(), percent_decode(r)]).filter(|s| !s.is_empty()).collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// `%XX` escapes decoded (invalid escapes and non-UTF-8 results are kept as written).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Replace every occurrence of a secret in a message (client errors may echo connection
/// parameters).
fn scrub(message: String, secrets: &[String]) -> String {
    secrets.iter().filter(|s| !s.is_empty()).fold(message, |m, s| m.replace(s.as_str(), "***"))
}

/// Remove the query parameter `key` from a URL, returning the URL without it and its value.
fn take_param(url: &str, key: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), None) };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == key => {
                value = Some(v.to_string());
                false
            }
            _ => !kv.is_empty(),
        })
        .collect();
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (url, value)
}

fn is_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_in_user_info_and_query() {
        assert_eq!(redact("postgres://alice:s3cret@db:5432/test"), "postgres://alice:***@db:5432/test");
        assert_eq!(redact("redis://:hunter2@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
        assert_eq!(
            redact("postgres://bob@h/db?password=x&sslmode=disable"),
            "postgres://bob@h/db?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://u:pa/ss?w@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite:runs.db"), "sqlite:runs.db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn url_secrets_are_the_passwords_as_written_and_decoded() {
        let cases: [(&str, &[&str]); 7] = [
            ("postgres://alice:s3cret@db:5432/test", &["s3cret"]),
            ("redis://:hunter2@127.0.0.1:6379/0", &["hunter2"]),
            ("postgres://bob@h/db?password=x%40y&sslmode=disable", &["x%40y", "x@y"]),
            ("postgres://u:pa%2Fss@h/db?passwd=other", &["pa%2Fss", "other", "pa/ss"]),
            ("postgres://u@h/db", &[]),
            ("redis://u:@h/", &[]),
            ("sqlite:runs.db", &[]),
        ];
        for (url, expected) in cases {
            assert_eq!(url_secrets(url), expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{url}");
        }
    }

    #[test]
    fn scrub_replaces_every_secret() {
        let secrets = url_secrets("postgres://u:p%40ss@h/db");
        assert_eq!(scrub("auth p%40ss failed for p@ss".into(), &secrets), "auth *** failed for ***");
    }

    #[test]
    fn store_urls_parse_into_backends_and_janus_parameters() {
        assert_eq!(StoreUrl::parse("memory").unwrap(), StoreUrl::Memory);
        assert_eq!(StoreUrl::parse("sqlite:runs/a.db").unwrap(), StoreUrl::Sqlite("runs/a.db".into()));
        assert_eq!(StoreUrl::parse("sqlite:///tmp/a.db").unwrap(), StoreUrl::Sqlite("/tmp/a.db".into()));
        assert_eq!(
            StoreUrl::parse("postgres://u@h/db?schema=exp1&sslmode=disable").unwrap(),
            StoreUrl::Postgres { url: "postgres://u@h/db?sslmode=disable".into(), schema: Some("exp1".into()) }
        );
        assert_eq!(
            StoreUrl::parse("redis://127.0.0.1:6379/2?prefix=lab").unwrap(),
            StoreUrl::Redis { url: "redis://127.0.0.1:6379/2".into(), prefix: "lab".into() }
        );
    }

    #[test]
    fn a_wrong_url_is_an_error_that_shows_the_forms_and_no_password() {
        let e = StoreUrl::parse("mysql://root:topsecret@h/db").unwrap_err().to_string();
        assert!(e.contains("sqlite:PATH") && e.contains("mysql://root:***@h/db"), "{e}");
        assert!(!e.contains("topsecret"), "{e}");
        let e = StoreUrl::parse("postgres://u:pw@h/db?schema=Bad;drop").unwrap_err().to_string();
        assert!(e.contains("schema") && !e.contains("pw@"), "{e}");
        assert!(StoreUrl::parse("sqlite:").is_err());
    }
}
