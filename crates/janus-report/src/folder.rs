//! Writing a run folder as a whole, safely, and making it self-describing.
//!
//! A run folder is written again whenever its run is (a re-run under the same id,
//! `janus runs show --out`). Two promises hold for every such write:
//!
//! - **No stale files.** The folder ends up with exactly the files this write produced, plus
//!   whatever the user put there. Janus removes only files it owns: the names it writes
//!   ([`JANUS_FILES`], the training datasets of `export-training` included, since they belong to
//!   the run written before) and the files the previous write listed in its `run.json`. Any
//!   other file or folder is left where it is, untouched: notes, notebooks, plots a user saved
//!   beside the run.
//! - **No half-written folder from a failed write.** Everything is written first into a
//!   staging folder inside the run folder (`.janus-staging-<pid>-<n>`, on the same file system),
//!   so an error while computing or writing (a chart that cannot be drawn, a full disk) leaves
//!   the previous files as they were and removes the staging folder. Only then are the new
//!   files renamed into place one by one (each rename is atomic: a reader sees the old file or
//!   the new one, never a mix), `run.json` last, and the stale ones removed. `run.json` is
//!   removed first, so a folder without it after a crash mid-swap says it is incomplete.
//!
//! Swapping whole folders (write a sibling, rename it over the old one) was the other choice;
//! it would have to carry the user's files across, and a crash between the two renames leaves
//! them in a hidden folder. Moving only Janus's files never touches anything else.
//!
//! The folder also records where the run came from, so `janus report` and `janus
//! export-training` need nothing repeated: `config.toml` (the exact config text the run used,
//! store password redacted) and `run.json` ([`RunInfo`]: run id, status, data source, the
//! folder the config's relative paths resolve against and the bars file, both absolute).

use crate::output::{write_report_files, write_run_folder};
use crate::{Analysis, ReportError};
use janus_core::{RunMeta, RunRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The name of the provenance file.
pub const RUN_JSON: &str = "run.json";
/// The name of the config copy.
pub const CONFIG_TOML: &str = "config.toml";

/// Every file name Janus writes into a run folder; a rewrite removes the ones it does not
/// write again.
pub const JANUS_FILES: [&str; 17] = [
    "metrics.json",
    crate::output::CORPORATE_ACTIONS_CSV,
    "equity.csv",
    "orders.csv",
    "fills.csv",
    "trades.csv",
    "refused_sells.csv",
    "risk_events.csv",
    "positions.csv",
    "benchmark.csv",
    "report.html",
    CONFIG_TOML,
    RUN_JSON,
    "training_sell.parquet",
    "training_sell.csv",
    "training_buy.parquet",
    "training_buy.csv",
];

/// Where a run's inputs are, as `run.json` records them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOrigin {
    /// The folder the config's relative paths (data, corporate-action events, model files,
    /// benchmark) resolve against: the config file's folder, absolute.
    pub config_dir: Option<PathBuf>,
    /// The bars file the run read, absolute; `None` for the synthetic generator (whose seed and
    /// size are in the config).
    pub data_file: Option<PathBuf>,
}

/// `run.json`: what the folder is a run of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    /// `running`, `finished` or `failed`, when the folder was written.
    pub status: String,
    /// The data source as the store records it (`csv:PATH` or `synthetic:seed=...`).
    pub data_source: String,
    /// The config file beside it, holding the exact text of the run's config.
    pub config: String,
    #[serde(flatten)]
    pub origin: RunOrigin,
    /// The files this write put into the folder, `run.json` included.
    pub files: Vec<String>,
}

impl RunInfo {
    /// Read `dir/run.json`; `None` when the folder has none (written by an older Janus).
    pub fn read(dir: &Path) -> Result<Option<RunInfo>, ReportError> {
        let path = dir.join(RUN_JSON);
        if !path.is_file() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path).map_err(|source| ReportError::Io { path: path.clone(), source })?;
        serde_json::from_str(&text).map(Some).map_err(|source| ReportError::Json { path, source })
    }
}

/// Write the whole run folder `dir` of a run (metrics, CSV files, benchmark, report, config and
/// provenance), replacing an earlier write as the module explains: no stale Janus file stays,
/// no other file is touched, and a failed write leaves the earlier files in place.
pub fn write_run(
    dir: &Path,
    meta: &RunMeta,
    origin: &RunOrigin,
    record: &RunRecord,
    analysis: &Analysis,
) -> Result<(), ReportError> {
    write_staged(dir, |stage| {
        write_run_folder(stage, meta, record, &analysis.metrics, &analysis.trips)?;
        write_report_files(stage, &meta.run_id, record, analysis)?;
        let path = stage.join(CONFIG_TOML);
        fs::write(&path, &meta.config).map_err(|source| ReportError::Io { path, source })?;
        Ok(RunInfo {
            run_id: meta.run_id.clone(),
            status: meta.status.as_str().to_string(),
            data_source: meta.data_source.clone(),
            config: CONFIG_TOML.to_string(),
            origin: origin.clone(),
            files: Vec::new(),
        })
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_path_buf(), source }
}

/// Create a fresh staging folder inside `dir`.
fn new_stage(dir: &Path) -> Result<PathBuf, ReportError> {
    for n in 0u32.. {
        let stage = dir.join(format!(".janus-staging-{}-{n}", std::process::id()));
        match fs::create_dir(&stage) {
            Ok(()) => return Ok(stage),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&stage)(e)),
        }
    }
    unreachable!("u32 staging names run out only after four billion failed writes")
}

/// Run `write` into a staging folder and, when it succeeds, move what it wrote into `dir`
/// and remove the Janus files it did not write again. `write` returns the `run.json` to
/// record; its `files` are filled in here.
pub(crate) fn write_staged(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<RunInfo, ReportError>,
) -> Result<(), ReportError> {
    if dir.exists() && !dir.is_dir() {
        return Err(ReportError::Read {
            path: dir.to_path_buf(),
            message: "is a file, not a run folder; remove it or write the run elsewhere".into(),
        });
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let stage = new_stage(dir)?;
    let staged = write(&stage).and_then(|mut info| {
        let mut files = list_files(&stage)?;
        files.insert(RUN_JSON.to_string());
        info.files = files.into_iter().collect();
        let path = stage.join(RUN_JSON);
        let mut json =
            serde_json::to_vec_pretty(&info).map_err(|source| ReportError::Json { path: path.clone(), source })?;
        json.push(b'\n');
        fs::write(&path, json).map_err(io(&path))?;
        Ok(info)
    });
    let info = match staged {
        Ok(info) => info,
        Err(e) => {
            let _ = fs::remove_dir_all(&stage);
            return Err(e);
        }
    };

    // Janus's files of the previous write: the known names and whatever its run.json listed.
    let mut owned: BTreeSet<String> = JANUS_FILES.iter().map(|s| s.to_string()).collect();
    if let Ok(Some(previous)) = RunInfo::read(dir) {
        owned.extend(previous.files.into_iter().filter(|f| is_plain_name(f)));
    }
    let old_info = dir.join(RUN_JSON);
    if old_info.is_file() {
        fs::remove_file(&old_info).map_err(io(&old_info))?;
    }
    // run.json last: its presence says the swap completed.
    let others = info.files.iter().map(String::as_str).filter(|f| *f != RUN_JSON);
    for name in others.chain([RUN_JSON]) {
        let (from, to) = (stage.join(name), dir.join(name));
        fs::rename(&from, &to).map_err(io(&to))?;
    }
    let written: BTreeSet<&str> = info.files.iter().map(String::as_str).collect();
    for name in list_files(dir)? {
        if owned.contains(&name) && !written.contains(name.as_str()) {
            let path = dir.join(&name);
            fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    fs::remove_dir(&stage).map_err(io(&stage))
}

/// A file name without a folder part (what `run.json` may list).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
}

/// The names of the plain files directly in `dir`.
fn list_files(dir: &Path) -> Result<BTreeSet<String>, ReportError> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_type().map_err(io(dir))?.is_file() {
            if let Some(name) = entry.file_name().to_str() {
                names.insert(name.to_string());
            }
        }
    }
    Ok(names)
}

/// Write one file whole: into a temporary file beside it, then renamed over it, so a reader
/// (or a crash) never sees half a page.
pub fn write_report_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let name = path.file_name().map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.janus-tmp-{}", std::process::id()));
    if let Err(e) = fs::write(&tmp, bytes) {
        let _ = fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(path)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> RunInfo {
        RunInfo {
            run_id: id.into(),
            status: "finished".into(),
            data_source: "synthetic:seed=1".into(),
            config: CONFIG_TOML.into(),
            origin: RunOrigin::default(),
            files: Vec::new(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_rewrite_removes_janus_files_it_did_not_write_again_and_keeps_the_users() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write_staged(&dir, |stage| {
            for f in ["metrics.json", "benchmark.csv", "friction.json"] {
                fs::write(stage.join(f), "old").unwrap();
            }
            Ok(info("r"))
        })
        .unwrap();
        fs::write(dir.join("training_sell.parquet"), "exported").unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        fs::create_dir(dir.join("plots")).unwrap();
        fs::write(dir.join("plots").join("a.png"), "mine").unwrap();

        write_staged(&dir, |stage| {
            fs::write(stage.join("metrics.json"), "new").unwrap();
            Ok(info("r"))
        })
        .unwrap();
        assert_eq!(names(&dir), ["metrics.json", "notes.txt", "plots", "run.json"]);
        assert_eq!(fs::read_to_string(dir.join("metrics.json")).unwrap(), "new");
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        assert!(dir.join("plots").join("a.png").is_file());
        // friction.json went because the previous run.json listed it.
        let recorded = RunInfo::read(&dir).unwrap().unwrap();
        assert_eq!(recorded.files, ["metrics.json", "run.json"]);
    }

    #[test]
    fn a_failed_write_leaves_the_previous_files_and_no_staging_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        write_staged(&dir, |stage| {
            fs::write(stage.join("metrics.json"), "old").unwrap();
            Ok(info("r"))
        })
        .unwrap();
        let err = write_staged(&dir, |stage| {
            fs::write(stage.join("metrics.json"), "half").unwrap();
            Err(ReportError::Chart("cannot draw".into()))
        })
        .unwrap_err();
        assert!(matches!(err, ReportError::Chart(_)));
        assert_eq!(names(&dir), ["metrics.json", "run.json"]);
        assert_eq!(fs::read_to_string(dir.join("metrics.json")).unwrap(), "old");
    }

    #[test]
    fn a_file_in_the_way_of_the_folder_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        fs::write(&dir, "x").unwrap();
        let err = write_staged(&dir, |_| Ok(info("r"))).unwrap_err().to_string();
        assert!(err.contains("run") && err.contains("not a run folder"), "{err}");
    }

    #[test]
    fn a_listed_name_with_a_folder_part_is_never_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("keep.txt"), "mine").unwrap();
        let mut forged = info("r");
        forged.files = vec!["../outside.txt".into(), "keep.txt/".into(), "".into()];
        fs::write(dir.join(RUN_JSON), serde_json::to_string(&forged).unwrap()).unwrap();
        fs::write(tmp.path().join("outside.txt"), "mine").unwrap();
        write_staged(&dir, |_| Ok(info("r"))).unwrap();
        assert!(tmp.path().join("outside.txt").is_file() && dir.join("keep.txt").is_file());
    }

    #[test]
    fn a_single_file_is_replaced_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report.html");
        fs::write(&path, "old").unwrap();
        write_report_file(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(tmp.path()), ["report.html"], "no temporary file left");
        let err = write_report_file(&tmp.path().join("missing-dir").join("r.html"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing-dir"), "{err}");
    }
}
