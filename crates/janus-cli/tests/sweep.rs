//! `janus sweep` and `janus worker` against the real Redis (the work queue) and PostgreSQL (the
//! runs): a grid whose first worker is SIGKILLed mid-job is finished by the others, the killed
//! job resuming from its last committed day, with runs identical to an uninterrupted sweep's;
//! walk-forward windows train their sell models and test them, the same on every repetition;
//! bad sweep files are refused before anything is queued.

mod common;

use common::*;
use janus_core::RunStatus;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A PostgreSQL schema of its own (dropped at the end) and a queue prefix of its own, or None
/// when a server is missing.
struct Setup {
    dir: tempfile::TempDir,
    stores: Vec<String>,
    prefix: String,
}

impl Setup {
    fn new(name: &str) -> Option<Setup> {
        let prefix = format!("janus:test:{}", unique(name));
        if let Err(e) = janus_shared::jobs::JobQueue::connect(&redis_base(), &prefix, Duration::from_secs(2)) {
            skip(&format!("Redis at {}: {e}", redis_base()));
            return None;
        }
        let setup = Setup { dir: tempfile::tempdir().unwrap(), stores: Vec::new(), prefix };
        if let Err(e) = janus_store::open_store(&setup.store_url(name)) {
            skip(&format!("PostgreSQL at {}: {e}", postgres_base()));
            return None;
        }
        Some(setup)
    }

    fn store_url(&self, name: &str) -> String {
        format!("{}?schema={}_{}", postgres_base(), unique(name), name)
    }

    /// A sweep file with its base config, recording into a fresh schema.
    fn spec(&mut self, file: &str, name: &str, config: &str, rest: &str) -> String {
        let store = self.store_url(name);
        self.stores.push(store.clone());
        std::fs::write(self.dir.path().join(format!("{name}.base.toml")), config).unwrap();
        let spec = format!("name = \"{name}\"\nconfig = \"{name}.base.toml\"\nstore = \"{store}\"\n{rest}");
        std::fs::write(self.dir.path().join(file), spec).unwrap();
        store
    }

    fn run(&self, args: &[&str]) -> Output {
        janus()
            .args(args)
            .args(["--queue", &redis_base(), "--queue-prefix", &self.prefix])
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "janus {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    fn worker(&self, id: &str, extra: &[&str]) -> Child {
        janus()
            .args(["worker", "--id", id, "--queue", &redis_base(), "--queue-prefix", &self.prefix])
            .args(extra)
            .current_dir(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn queue(&self) -> janus_shared::jobs::JobQueue {
        janus_shared::jobs::JobQueue::connect(&redis_base(), &self.prefix, Duration::from_secs(2)).unwrap()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        for s in &self.stores {
            let _ = janus_store::drop_namespace(s);
        }
        if let Ok(mut q) = janus_shared::jobs::JobQueue::connect(&redis_base(), &self.prefix, Duration::from_secs(2)) {
            for s in q.sweeps().unwrap_or_default() {
                let _ = q.reset(&s);
            }
        }
    }
}

fn finished(mut child: Child, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(status.success(), "{what}: {all}");
            return all;
        }
        assert!(Instant::now() < deadline, "{what} did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The job `worker` is running in `sweep` and its run id, once 100 days of it are committed.
fn wait_for_committed_days(
    q: &mut janus_shared::jobs::JobQueue,
    db: &dyn janus_core::Store,
    sweep: &str,
    worker: &str,
) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "{worker} never committed a day");
        let st = q.state(sweep).unwrap();
        if let Some(r) = st.running.iter().find(|r| r.worker == worker) {
            let job: serde_json::Value = serde_json::from_str(&st.jobs[&r.job]).unwrap();
            let run_id = job["run_id"].as_str().unwrap().to_string();
            if let Some(run) = db.run_summaries().unwrap().iter().find(|x| x.meta.run_id == run_id) {
                assert_eq!(run.meta.status, RunStatus::Running, "the run finished too soon: make it longer");
                if run.days >= 100 {
                    return (r.job.clone(), run_id);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn result(q: &mut janus_shared::jobs::JobQueue, sweep: &str, job: &str) -> serde_json::Value {
    serde_json::from_str(&q.state(sweep).unwrap().results[job]).unwrap()
}

#[test]
fn a_worker_killed_mid_job_loses_it_to_the_others_and_the_run_resumes_to_the_same_result() {
    let Some(mut s) = Setup::new("kill") else { return };
    // A market big enough that a run takes a second or so, committing every 200 ms.
    let config = "[data]\nsymbols = 2000\ndays = 3000\n";
    let grid = "[grid]\n\"risk.max_positions\" = [5, 8, 10]\n";
    let store = s.spec("kill.toml", "kill", config, grid);
    let reference_store = s.spec("calm.toml", "calm", config, grid);
    let out = s.ok(&["sweep", "submit", "kill.toml"]);
    assert!(out.contains("3 jobs (parameter grid), 3 queued now"), "{out}");
    assert!(s.ok(&["sweep", "submit", "kill.toml"]).contains("0 queued now"), "submitting again queues nothing");

    // The victim takes the first job; it is killed once whole days of it are in PostgreSQL.
    let mut victim = s.worker("victim", &["--reclaim-after", "1"]);
    let mut q = s.queue();
    let db = janus_store::open_store(&store).unwrap();
    let (job, run_id) = wait_for_committed_days(&mut q, db.as_ref(), "kill", "victim");
    victim.kill().unwrap();
    victim.wait().unwrap();
    let status = s.ok(&["sweep", "status", "kill"]);
    assert!(status.contains("victim"), "the dead worker still holds its job: {status}");

    let w2 = s.worker("w2", &["--reclaim-after", "1", "--exit-when-idle"]);
    let w3 = s.worker("w3", &["--reclaim-after", "1", "--exit-when-idle"]);
    let logs = format!("{}{}", finished(w2, "worker w2"), finished(w3, "worker w3"));
    let st = q.state("kill").unwrap();
    assert_eq!(st.results.len(), 3, "{logs}");
    let taken_over = result(&mut q, "kill", &job);
    assert_eq!(taken_over["state"], "done", "{taken_over}");
    assert_ne!(taken_over["worker"], "victim");
    assert!(taken_over["resumed_after"].is_string(), "the run resumed from PostgreSQL: {taken_over}\n{logs}");
    let status = s.ok(&["sweep", "status", "kill"]);
    assert!(status.contains("3 jobs: 3 done, 0 failed, 0 running, 0 queued"), "{status}");

    // The same sweep, never interrupted, into another schema: the same runs, record for record.
    s.ok(&["sweep", "submit", "calm.toml"]);
    finished(s.worker("calm", &["--exit-when-idle"]), "the uninterrupted worker");
    let reference = janus_store::open_store(&reference_store).unwrap();
    for j in ["j000", "j001", "j002"] {
        let a = result(&mut q, "kill", j);
        let b = result(&mut q, "calm", j);
        assert_eq!(a["final_value"], b["final_value"], "{j}");
        let id = serde_json::from_str::<serde_json::Value>(&q.state("kill").unwrap().jobs[j]).unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(db.load_run(&id).unwrap(), reference.load_run(&id).unwrap(), "run {id} of {j}");
    }
    assert!(db.run_summaries().unwrap().iter().all(|r| r.meta.status == RunStatus::Finished));
    assert!(db.load_run(&run_id).unwrap().account_snapshots.len() == 3000);

    // The comparison report: every job, and a chart.
    let out = s.ok(&["sweep", "report", "kill", "--out", "kill.html"]);
    for j in ["j000", "j001", "j002"] {
        assert!(out.contains(j), "{out}");
    }
    let html = std::fs::read_to_string(s.dir.path().join("kill.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("risk.max_positions=8"), "{html}");
}

#[test]
fn a_frozen_worker_that_lost_its_job_stops_when_it_wakes_up() {
    let Some(mut s) = Setup::new("frozen") else { return };
    let store = s.spec("frozen.toml", "frozen", "[data]\nsymbols = 2000\ndays = 3000\n", "");
    s.ok(&["sweep", "submit", "frozen.toml"]);
    let mut q = s.queue();
    let db = janus_store::open_store(&store).unwrap();
    let frozen = s.worker("frozen", &["--reclaim-after", "1"]);
    let (job, run_id) = wait_for_committed_days(&mut q, db.as_ref(), "frozen", "frozen");
    let pid = frozen.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    let logs = finished(s.worker("thaw", &["--reclaim-after", "1", "--exit-when-idle"]), "worker thaw");
    let taken_over = result(&mut q, "frozen", &job);
    assert_eq!((&taken_over["worker"], &taken_over["state"]), (&"thaw".into(), &"done".into()), "{logs}");
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let out = frozen.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("was taken over by another worker"), "{err}");
    // The result and the run are the one worker's that finished it.
    assert_eq!(result(&mut q, "frozen", &job)["worker"], "thaw");
    let run = db.run_summaries().unwrap().into_iter().find(|r| r.meta.run_id == run_id).unwrap();
    assert_eq!((run.meta.status, run.days), (RunStatus::Finished, 3000), "{logs}\n{}", result(&mut q, "frozen", &job));
}

#[test]
fn walk_forward_windows_train_a_sell_model_each_and_test_it_on_the_next_window() {
    let Some(mut s) = Setup::new("wf") else { return };
    let config = "[data]\nsymbols = 200\ndays = 500\n";
    let wf = "[walk_forward]\ntrain_days = 200\ntest_days = 100\n";
    let store = s.spec("wf.toml", "wf", config, wf);
    s.spec("again.toml", "again", config, wf);
    let out = s.ok(&["sweep", "submit", "wf.toml"]);
    assert!(out.contains("3 jobs (3 walk-forward windows)"), "{out}");
    let (w1, w2) = (s.worker("a", &["--exit-when-idle"]), s.worker("b", &["--exit-when-idle"]));
    let logs = format!("{}{}", finished(w1, "worker a"), finished(w2, "worker b"));
    s.ok(&["sweep", "submit", "again.toml"]);
    finished(s.worker("c", &["--exit-when-idle"]), "worker c");

    let mut q = s.queue();
    let db = janus_store::open_store(&store).unwrap();
    let runs = db.run_summaries().unwrap();
    for (i, j) in ["j000", "j001", "j002"].iter().enumerate() {
        let r = result(&mut q, "wf", j);
        assert_eq!(r["state"], "done", "{r}\n{logs}");
        let model = &r["model"];
        assert!(model["rows"].as_u64().unwrap() > 100, "{model}");
        assert_eq!(model["file"]["features"].as_array().unwrap().len(), 12);
        // Trained and tested the same on another worker, another time.
        let again = result(&mut q, "again", j);
        assert_eq!(model["file"], again["model"]["file"], "{j}");
        assert_eq!(r["final_value"], again["final_value"], "{j}");
        // The stored run is the test window with the trained model.
        let job: serde_json::Value = serde_json::from_str(&q.state("wf").unwrap().jobs[*j]).unwrap();
        let run = runs.iter().find(|x| x.meta.run_id == job["run_id"].as_str().unwrap()).expect("stored");
        assert!(run.meta.config.contains("kind = \"logistic\""), "{}", run.meta.config);
        let test = &job["window"]["test"];
        assert!(run.meta.config.contains(&format!("start = \"{}\"", test[0].as_str().unwrap())));
        assert_eq!(job["window"]["index"], i);
        assert_eq!(run.days, 100, "{j}");
    }
    let out = s.ok(&["sweep", "report", "wf", "--out", "wf.html"]);
    assert!(out.contains("#2 test"), "{out}");
}

#[test]
fn bad_sweep_files_are_refused_before_anything_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 6] = [
        ("store = \"postgres://u@h/db\"\ncolour = 1\n", "unknown field `colour`"),
        ("store = \"memory\"\n", "must be persistent"),
        ("store = \"postgres://u:secret@h/db\"\n", "PGPASSWORD"),
        ("store = \"sqlite:x.db\"\n[grid]\n\"risk.max_positons\" = [1, 2]\n", "max_positons"),
        ("store = \"sqlite:x.db\"\n[grid]\n\"risk.max_positions\" = []\n", "no values"),
        ("store = \"sqlite:x.db\"\n[walk_forward]\ntrain_days = 5000\ntest_days = 10\n", "no test window"),
    ];
    for (i, (spec, want)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&file, spec).unwrap();
        let out = janus()
            .args(["sweep", "submit", file.to_str().unwrap(), "--queue", "redis://127.0.0.1:1/"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{spec}");
        assert!(err.contains(want), "{spec}: {err}");
        assert!(!err.contains("secret"), "{err}");
    }
}
