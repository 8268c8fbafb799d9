//! The store side of the CLI: opening the store a run names (`--store URL` or `store = "URL"`),
//! resuming a run that died (`janus backtest --resume RUN_ID`), and reading stored runs back
//! (`janus runs list`, `janus runs show`).
//!
//! Two promises are kept here. A password in the config's `store` key never reaches the store
//! or any output: the config text is redacted as soon as it is loaded ([`redact_config`]), so
//! the stored config, the run id derived from it and everything written later see `***`. And
//! when a run fails, the error suggests `--resume` only when a resume can work: for a
//! persistent store that holds whole days of the run, with the store's URL (redacted) and the
//! run id.

use crate::config::{FileConfig, Loaded};
use crate::run::{load_data, BacktestArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use janus_core::{RunStatus, Store, StoreError};
use janus_engine::{EngineError, Resume, RunOutcome};
use janus_store::{open_store_tracked, redact, url_secrets, Committed, Held, StoreOptions, StoreUrl};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Open a store by URL (`memory` when none is given), connecting now so that a wrong or
/// unreachable URL fails before any work. Returns the store and its URL with the password
/// redacted.
pub fn open(url: Option<&str>, retry_secs: Option<f64>) -> Result<(Box<dyn Store>, String)> {
    let (store, shown, _) = open_tracked(url, retry_secs)?;
    Ok((store, shown))
}

/// [`open`], also returning what the store is seen to hold of each run.
fn open_tracked(url: Option<&str>, retry_secs: Option<f64>) -> Result<(Box<dyn Store>, String, Committed)> {
    let url = url.unwrap_or("memory");
    let mut opts = StoreOptions::default();
    if let Some(secs) = retry_secs {
        if !(secs.is_finite() && secs >= 0.0) {
            bail!("--store-retry-secs (or `store_retry_secs`) must be a number of seconds, at least 0");
        }
        opts.retry = Duration::from_secs_f64(secs);
    }
    let (store, committed) = open_store_tracked(url, &opts)?;
    Ok((store, redact(url), committed))
}

/// The config text with the password of its `store` key replaced by `***` (the value becomes
/// the redacted URL, whatever TOML string form it was written in), and other literal
/// occurrences of that password (a comment, an older URL) scrubbed as long as that leaves the
/// config's values as they were. A config without a password comes back unchanged, so the run
/// id derived from it does not change either.
pub fn redact_config(text: &str) -> String {
    #[derive(serde::Deserialize)]
    struct StoreKey {
        store: Option<toml::Spanned<String>>,
    }
    let Ok(StoreKey { store: Some(store) }) = toml::from_str::<StoreKey>(text) else { return text.to_string() };
    let secrets = url_secrets(store.get_ref());
    if secrets.is_empty() {
        return text.to_string();
    }
    let mut out = text.to_string();
    out.replace_range(store.span(), &toml::Value::String(redact(store.get_ref())).to_string());
    let scrubbed = secrets.iter().fold(out.clone(), |t, s| t.replace(s.as_str(), "***"));
    let values = |t: &str| {
        t.parse::<toml::Table>().ok().map(|mut table| {
            table.remove("store");
            table
        })
    };
    if values(&scrubbed).is_some() && values(&scrubbed) == values(&out) {
        scrubbed
    } else {
        out
    }
}

/// What `janus backtest` runs: its config, data override and store, and where a resumed run
/// stopped.
pub struct Session {
    pub loaded: Loaded,
    pub data: Option<PathBuf>,
    pub store: Box<dyn Store>,
    /// The store URL, password redacted.
    pub url: String,
    /// What the store is seen to hold of each run (readable even when it stopped answering).
    committed: Committed,
    /// The run id of a resumed run.
    pub run_id: Option<String>,
    pub resume: Option<Resume>,
}

impl Session {
    pub fn open(args: &BacktestArgs) -> Result<Session> {
        let Some(run_id) = &args.resume else {
            let mut loaded = crate::config::load(args.config.as_deref()).map_err(|e| scrub_config_error(e, args))?;
            // From here on (stored config, derived run id, outputs) the password is `***`.
            loaded.text = redact_config(&loaded.text);
            let url = args.store.clone().or_else(|| loaded.config.store.clone());
            let (store, url, committed) =
                open_tracked(url.as_deref(), args.store_retry_secs.or(loaded.config.store_retry_secs))?;
            return Ok(Session { loaded, data: args.data.clone(), store, url, committed, run_id: None, resume: None });
        };
        if args.config.is_some() || args.data.is_some() || args.run_id.is_some() {
            bail!(
                "--resume continues a stored run with its stored config and data; drop --config, --data and --run-id"
            );
        }
        let Some(url) = args.store.as_deref() else {
            bail!("--resume needs --store URL: the store that holds run {run_id:?}");
        };
        if StoreUrl::parse(url)?.is_memory() {
            bail!("a memory store keeps nothing between processes, so there is no run to resume; use a persistent --store");
        }
        let (mut store, shown, committed) = open_tracked(Some(url), args.store_retry_secs)?;
        let Some(summary) = store.run_summaries()?.into_iter().find(|s| s.meta.run_id == *run_id) else {
            bail!("run {run_id:?} is not in the store at {shown}; `janus runs list --store URL` shows the stored runs");
        };
        if summary.meta.status == RunStatus::Finished {
            bail!("run {run_id:?} already finished; `janus runs show {run_id} --store URL` shows it");
        }
        let meta = summary.meta;
        let config = FileConfig::parse(&meta.config, &format!("of stored run {run_id}"))?;
        let data = match crate::report_cmd::stored_data_file(&meta.data_source) {
            Some(path) => Some(path),
            None if meta.data_source.starts_with("synthetic:") => None,
            None => bail!("stored run {run_id:?} has an unknown data source {:?}", meta.data_source),
        };
        let record = store.load_run(run_id)?;
        let resume = match (record.last_day_index, record.account_snapshots.last()) {
            (Some(last_day_index), Some(snap)) => Some(Resume { last_day_index, last_snapshot: snap.clone() }),
            _ => {
                // Nothing committed yet: start the run again from its first day.
                store.delete_run(run_id)?;
                None
            }
        };
        if resume.is_some() {
            store.finish_run(run_id, RunStatus::Running)?;
        }
        let loaded = Loaded { config, text: meta.config, base: PathBuf::from(".") };
        Ok(Session { loaded, data, store, url: shown, committed, run_id: Some(run_id.clone()), resume })
    }

    /// Pass a run's outcome on. A failed run in a persistent store is marked failed (when the
    /// store still answers), a run that committed nothing is removed so the same command can
    /// run again, and the error says what can be done: resume (only when the store holds whole
    /// days of the run and the replay can match them), or run again.
    pub fn finish(&mut self, run_id: &str, outcome: Result<RunOutcome, EngineError>) -> Result<RunOutcome> {
        let e = match outcome {
            Ok(o) => return Ok(o),
            Err(e) => e,
        };
        if StoreUrl::parse(&self.url).is_ok_and(|u| u.is_memory()) {
            return Err(e.into()); // nothing outlives the process: nothing to resume
        }
        if let EngineError::Store(StoreError::RunExists(_)) = e {
            // The run id belongs to a run already in the store: leave it alone.
            return Err(anyhow::Error::new(e).context(self.taken_hint(run_id)));
        }
        // Also commits the whole days still buffered; fails at once if the store was given up on.
        let answered = self.store.finish_run(run_id, RunStatus::Failed).is_ok();
        let held = self.committed.held(run_id);
        let removed = held == Held::NoDays && answered && self.store.delete_run(run_id).is_ok();
        let failure = Failure {
            run_id,
            url: &self.url,
            held,
            removed,
            answered,
            replay_mismatch: matches!(e, EngineError::ResumeMismatch { .. }),
        };
        Err(anyhow::Error::new(e).context(failure.advice()))
    }

    /// Advice when the run id is taken: how to see that run, and whether it can be resumed.
    fn taken_hint(&self, run_id: &str) -> String {
        let stored =
            self.store.run_summaries().ok().and_then(|runs| runs.into_iter().find(|r| r.meta.run_id == run_id));
        let url = shell_quote(&self.url);
        match stored {
            Some(r) if r.meta.status == RunStatus::Finished => format!(
                "run {run_id} is already finished in the store at {}; `janus runs show {run_id} --store {url}` shows \
                 it, and another --run-id starts a new one",
                self.url
            ),
            Some(r) if r.last_day_index.is_some() => format!(
                "run {run_id} is in the store at {} with whole days committed; unless another process is running \
                 it, `janus backtest --resume {run_id} --store {url}` continues it{}; another --run-id starts a \
                 new one",
                self.url,
                password_note(&self.url)
            ),
            _ => format!("run {run_id} is already in the store at {}; pick another --run-id", self.url),
        }
    }
}

/// A config that does not parse is reported with the offending line, which may be the
/// `store` line: take its password out of the message.
fn scrub_config_error(e: anyhow::Error, args: &BacktestArgs) -> anyhow::Error {
    let text = args.config.as_deref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let secrets: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "store").then(|| value.trim().trim_start_matches(['"', '\'']).to_string())
        })
        .flat_map(|value| {
            // The value up to a closing quote, if it has one (the line may be malformed).
            let url = value.split(['"', '\'']).next().unwrap_or_default();
            url_secrets(url)
        })
        .collect();
    if secrets.is_empty() {
        return e;
    }
    let message = secrets.iter().fold(format!("{e:#}"), |m, s| m.replace(s.as_str(), "***"));
    anyhow::anyhow!(message)
}

/// What a failed run left in a persistent store, to advise on.
struct Failure<'a> {
    run_id: &'a str,
    /// The store URL, password redacted.
    url: &'a str,
    held: Held,
    /// The run had no committed day and was removed from the store.
    removed: bool,
    /// The store answered after the failure.
    answered: bool,
    /// A resumed run replayed to a different account than the store holds.
    replay_mismatch: bool,
}

impl Failure<'_> {
    fn advice(&self) -> String {
        let (id, url) = (self.run_id, self.url);
        let later = if self.answered { "" } else { "once the store answers again, " };
        match self.held {
            Held::UpTo(_) if self.replay_mismatch => format!(
                "run {id} was not continued: its stored days no longer match a replay, so resuming it cannot work \
                 until its data (and Janus version) are those it started with; the store at {url} keeps its days"
            ),
            Held::UpTo(day) => {
                let resume =
                    format!("`janus backtest --resume {id} --store {}`{}", shell_quote(url), password_note(url));
                let when = if self.answered { "Resume it" } else { "Once the store answers again, resume it" };
                format!(
                    "run {id} stopped; the store at {url} holds its whole trading days up to day index {day}. \
                     {when} with {resume}"
                )
            }
            Held::NoDays if self.removed => format!(
                "run {id} stopped before committing any trading day, so there is nothing to resume; it was removed \
                 from the store at {url}: run the same command again"
            ),
            Held::NoDays => format!(
                "run {id} stopped before committing any trading day, so there is nothing to resume; the store at \
                 {url} still lists it without days: {later}start the run again with another --run-id"
            ),
            Held::Unseen => format!(
                "run {id} was not recorded in the store at {url}, so there is nothing to resume: {later}run the same \
                 command again"
            ),
        }
    }
}

/// Where the password goes back when the URL shown has it redacted.
fn password_note(url: &str) -> String {
    if !url.contains("***") {
        return String::new();
    }
    let env = if url.starts_with("redis") { "REDISCLI_AUTH" } else { "PGPASSWORD" };
    format!(" (with the password in place of ***, or with `:***` dropped and the password in {env})")
}

/// A URL as one shell word: quoted unless it is made only of characters no shell treats
/// specially.
fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// List the runs in a store: id, status, start time, committed days, data source.
    List {
        /// The store: sqlite:PATH, postgres://USER@HOST:PORT/DB or redis://HOST:PORT/DB.
        #[arg(long)]
        store: String,
    },
    /// Show a stored run: provenance, progress and the summary metrics; with --out, write its
    /// run folder again (the same files `janus backtest` wrote).
    Show {
        /// Run id (see `janus runs list`).
        run_id: String,
        /// The store: sqlite:PATH, postgres://USER@HOST:PORT/DB or redis://HOST:PORT/DB.
        #[arg(long)]
        store: String,
        /// Write the run folder into DIR/<run id>/ (the run's data is loaded again for the
        /// benchmark, as the run did).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
}

pub fn runs(args: &RunsArgs) -> Result<()> {
    match &args.command {
        RunsCommand::List { store } => list(store),
        RunsCommand::Show { run_id, store, out } => show(store, run_id, out.as_deref()),
    }
}

fn list(url: &str) -> Result<()> {
    let (store, shown) = open(Some(url), Some(0.0))?;
    let runs = store.run_summaries()?;
    if runs.is_empty() {
        println!("no runs in the store at {shown}");
        return Ok(());
    }
    let w = runs.iter().map(|r| r.meta.run_id.chars().count()).max().unwrap_or(6).max(6);
    println!("{:<w$}  {:<8}  {:<20}  {:>6}  data", "run id", "status", "started", "days");
    for r in runs {
        println!(
            "{:<w$}  {:<8}  {:<20}  {:>6}  {}",
            r.meta.run_id,
            r.meta.status.as_str(),
            r.started_at.as_deref().unwrap_or("-"),
            r.days,
            r.meta.data_source
        );
    }
    Ok(())
}

fn show(url: &str, run_id: &str, out: Option<&Path>) -> Result<()> {
    let (store, shown) = open(Some(url), Some(0.0))?;
    let Some(summary) = store.run_summaries()?.into_iter().find(|s| s.meta.run_id == run_id) else {
        bail!("run {run_id:?} is not in the store at {shown}; `janus runs list --store URL` shows the stored runs");
    };
    let record = store.load_run(run_id)?;
    let meta = summary.meta;
    let cfg = FileConfig::parse(&meta.config, &format!("of stored run {run_id}"))?;
    let initial = janus_core::Money::from_yuan(cfg.initial_cash);
    println!("run {run_id} ({}) in {shown}", meta.status.as_str());
    println!("started   {}", summary.started_at.as_deref().unwrap_or("-"));
    println!("data      {}", meta.data_source);
    let span = match (record.account_snapshots.first(), record.account_snapshots.last()) {
        (Some(a), Some(b)) => format!("{} .. {}", a.date, b.date),
        _ => "none yet".into(),
    };
    println!("days      {} ({span})", summary.days);
    println!(
        "rows      {} orders, {} fills, {} risk events, {} position snapshots",
        record.orders.len(),
        record.executions.len(),
        record.risk_events.len(),
        record.position_snapshots.len()
    );
    let trips = janus_report::round_trips(&record);
    let metrics = janus_report::compute_metrics(&record, initial, &trips);
    println!("{}", janus_report::summary_text(&meta, &metrics));
    if let Some(root) = out {
        let data = crate::report_cmd::stored_data_file(&meta.data_source);
        let data = data.as_deref();
        let (panel, _) = load_data(&cfg, Path::new("."), data)
            .with_context(|| format!("loading the data of run {run_id} again ({})", meta.data_source))?;
        let mut analysis = crate::report_cmd::backtest_analysis(&record, initial, &panel, None, &cfg, Path::new("."))?;
        // A finished run's folder carries its friction attribution, recomputed here exactly.
        if meta.status == janus_core::RunStatus::Finished {
            analysis.metrics.friction = Some(crate::run::friction_attribution(
                &cfg,
                Path::new("."),
                &panel,
                &record,
                &analysis.refused,
                false,
            )?);
        }
        let dir = root.join(run_id);
        let origin = crate::report_cmd::run_origin(&cfg, Path::new("."), data);
        crate::report_cmd::write_run(&dir, &meta, &origin, &record, &analysis)?;
        println!("Run folder: {}", dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config's values without its `store` key.
    fn values(text: &str) -> toml::Table {
        let mut t: toml::Table = text.parse().unwrap();
        t.remove("store");
        t
    }

    fn store_of(text: &str) -> Option<String> {
        text.parse::<toml::Table>().unwrap().get("store").and_then(|v| v.as_str()).map(str::to_string)
    }

    #[test]
    fn a_password_in_the_store_key_is_redacted_and_nothing_else_changes() {
        // (config, the secret, the store URL expected after redaction)
        let cases = [
            (
                "store = \"postgres://janus:s3cret@db:5432/research\"\n",
                "s3cret",
                "postgres://janus:***@db:5432/research",
            ),
            ("store = 'redis://:hunter2@h:6379/0'\nseed = 1\n", "hunter2", "redis://:***@h:6379/0"),
            (
                "store = \"postgres://u@h/db?password=pw9&sslmode=disable\"\n",
                "pw9",
                "postgres://u@h/db?password=***&sslmode=disable",
            ),
            // TOML escapes: the text never holds the password literally, the value does.
            ("store = \"postgres://u:p\\u0061ssw0rd@h/db\"\n", "passw0rd", "postgres://u:***@h/db"),
            ("store = \"postgres://u:p%40ss@h/db\"\n", "p%40ss", "postgres://u:***@h/db"),
            (
                "# moved from postgres://u:oldpw123@old/db\n\
                 store = \"postgres://u:oldpw123@new/db\"\n[data]\nseed = 4\n",
                "oldpw123",
                "postgres://u:***@new/db",
            ),
        ];
        for (text, secret, redacted) in cases {
            let out = redact_config(text);
            assert!(!out.contains(secret) && !out.contains("p\\u0061ss"), "{text:?} -> {out:?}");
            assert_eq!(store_of(&out).as_deref(), Some(redacted), "{text:?} -> {out:?}");
            assert_eq!(values(&out), values(text), "{text:?}: the other values are kept");
        }
    }

    #[test]
    fn a_config_without_a_password_is_kept_byte_for_byte() {
        for text in [
            "",
            "[data]\nseed = 1 # comment\n",
            "store = \"sqlite:runs.db\"\n",
            "store = \"postgres://janus@db/research?schema=x\"\n",
            "not toml [",
            crate::config::DEFAULT_CONFIG,
        ] {
            assert_eq!(redact_config(text), text);
        }
    }

    #[test]
    fn a_password_that_is_also_a_config_value_leaves_the_value_alone() {
        let text = "store = \"postgres://u:42@h/db\"\ninitial_cash = 42.0\n[data]\nseed = 42\n";
        let out = redact_config(text);
        assert_eq!(store_of(&out).as_deref(), Some("postgres://u:***@h/db"));
        assert_eq!(values(&out), values(text));
    }

    /// A failure of run `r1` (store answering, no replay mismatch) to vary per case.
    fn failure(held: Held, url: &str) -> Failure<'_> {
        Failure { run_id: "r1", url, held, removed: false, answered: true, replay_mismatch: false }
    }

    #[test]
    fn resume_is_advised_only_when_the_store_holds_days_that_a_replay_can_match() {
        let sqlite = "sqlite:runs.db";
        let pg = "postgres://u:***@h/db?schema=x";
        // (the failure, what the advice must say, what it must not)
        let cases: Vec<(Failure, &[&str], &[&str])> = vec![
            (
                failure(Held::UpTo(59), sqlite),
                &["day index 59", "`janus backtest --resume r1 --store sqlite:runs.db`"],
                &["answers again", "***"],
            ),
            (
                Failure { answered: false, ..failure(Held::UpTo(7), pg) },
                &["Once the store answers again", "--resume r1 --store 'postgres://u:***@h/db?schema=x'", "PGPASSWORD"],
                &[],
            ),
            (
                Failure { replay_mismatch: true, ..failure(Held::UpTo(7), sqlite) },
                &["cannot work", "keeps its days"],
                &["--resume"],
            ),
            (
                Failure { removed: true, ..failure(Held::NoDays, sqlite) },
                &["nothing to resume", "removed", "same command again"],
                &["--resume"],
            ),
            (
                Failure { answered: false, ..failure(Held::NoDays, pg) },
                &["nothing to resume", "another --run-id", "answers again"],
                &["--resume"],
            ),
            (failure(Held::Unseen, sqlite), &["was not recorded", "same command again"], &["--resume"]),
            (
                Failure { answered: false, ..failure(Held::Unseen, "redis://:***@h:6379/") },
                &["once the store answers again"],
                &["--resume"],
            ),
        ];
        for (f, must, must_not) in cases {
            let a = f.advice();
            for m in must {
                assert!(a.contains(m), "{m:?} missing from {a:?}");
            }
            for m in must_not {
                assert!(!a.contains(m), "{m:?} in {a:?}");
            }
        }
    }

    fn session(url: &str) -> Session {
        let (store, url, committed) = open_tracked(Some(url), Some(0.0)).unwrap();
        let loaded = Loaded { config: FileConfig::default(), text: String::new(), base: PathBuf::from(".") };
        Session { loaded, data: None, store, url, committed, run_id: None, resume: None }
    }

    fn meta(id: &str) -> janus_core::RunMeta {
        janus_core::RunMeta {
            run_id: id.into(),
            config: String::new(),
            data_source: "x".into(),
            status: RunStatus::Running,
        }
    }

    fn store_failure() -> Result<RunOutcome, EngineError> {
        Err(EngineError::Store(StoreError::Backend { backend: "test", message: "the disk caught fire".into() }))
    }

    #[test]
    fn a_failed_run_in_memory_gets_no_resume_advice() {
        let mut s = session("memory");
        s.store.begin_run(&meta("m")).unwrap();
        let day = janus_core::DayBatch { day_index: 0, ..Default::default() };
        s.store.commit_day("m", &day).unwrap();
        let err = format!("{:#}", s.finish("m", store_failure()).unwrap_err());
        assert!(err.contains("the disk caught fire") && !err.contains("resume"), "{err}");
    }

    #[test]
    fn a_failed_sqlite_run_is_resumable_with_days_and_removed_without() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("runs.db").display());
        let mut s = session(&url);
        s.store.begin_run(&meta("with-days")).unwrap();
        for i in 0..3 {
            s.store.commit_day("with-days", &janus_core::DayBatch { day_index: i, ..Default::default() }).unwrap();
        }
        // The buffered days are committed by the failure handling itself.
        let err = format!("{:#}", s.finish("with-days", store_failure()).unwrap_err());
        assert!(err.contains(&format!("--resume with-days --store {url}")) && err.contains("day index 2"), "{err}");
        let runs = s.store.run_summaries().unwrap();
        assert_eq!(runs[0].meta.status, RunStatus::Failed);

        s.store.begin_run(&meta("no-days")).unwrap();
        let err = format!("{:#}", s.finish("no-days", store_failure()).unwrap_err());
        assert!(err.contains("nothing to resume") && !err.contains("--resume"), "{err}");
        assert!(s.store.run_summaries().unwrap().iter().all(|r| r.meta.run_id != "no-days"), "removed");
    }
}
