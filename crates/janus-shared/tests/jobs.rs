//! The work queue against the real Redis: submission at most once, reclaim of a dead worker's
//! job, a job kept by touching, a lost job refused at finish, failed jobs queued again.
mod common;

use common::*;
use janus_shared::jobs::JobQueue;
use std::time::Duration;

fn queue() -> Option<(JobQueue, String)> {
    let prefix = unique("jobs");
    match JobQueue::connect(&redis_base(), &prefix, Duration::from_secs(2)) {
        Ok(q) => Some((q, prefix)),
        Err(e) => {
            unavailable("Redis", &e);
            None
        }
    }
}

fn jobs(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("j{i:03}"), format!("{{\"n\":{i}}}"))).collect()
}

const SHORT: Duration = Duration::from_millis(10);
const LONG: Duration = Duration::from_secs(60);

#[test]
fn jobs_are_queued_once_taken_once_and_finished() {
    let Some((mut q, _)) = queue() else { return };
    assert_eq!(q.submit("s1", &jobs(3)).unwrap(), 3);
    assert_eq!(q.submit("s1", &jobs(4)).unwrap(), 1, "only the new job is queued again");
    let mut seen = Vec::new();
    while let Some(t) = q.take("w1", LONG, SHORT).unwrap() {
        assert_eq!(t.sweep, "s1");
        assert_eq!(t.deliveries, 1);
        assert_eq!(t.payload.as_deref(), Some(format!("{{\"n\":{}}}", &t.job[1..].parse::<u32>().unwrap()).as_str()));
        let st = q.state("s1").unwrap();
        assert!(st.running.iter().any(|r| r.job == t.job && r.worker == "w1"));
        assert!(q.finish(&t, "w1", "{\"state\":\"done\"}").unwrap());
        seen.push(t.job);
    }
    assert_eq!(seen, ["j000", "j001", "j002", "j003"]);
    let st = q.state("s1").unwrap();
    assert_eq!(st.results.len(), 4);
    assert!(st.running.is_empty() && st.queued().is_empty());
    assert_eq!(q.sweeps().unwrap(), ["s1"]);
    q.reset("s1").unwrap();
    assert!(q.sweeps().unwrap().is_empty());
    assert!(q.state("s1").unwrap().jobs.is_empty());
}

#[test]
fn a_job_left_untouched_by_a_dead_worker_goes_to_the_next_worker() {
    let Some((mut q, _)) = queue() else { return };
    q.submit("s", &jobs(1)).unwrap();
    let first = q.take("dead", LONG, SHORT).unwrap().expect("a job");
    // Within the reclaim time nobody else gets it.
    assert_eq!(q.take("alive", LONG, SHORT).unwrap(), None);
    std::thread::sleep(Duration::from_millis(150));
    let again = q.take("alive", Duration::from_millis(100), SHORT).unwrap().expect("the job, reclaimed");
    assert_eq!((again.entry.as_str(), again.job.as_str(), again.deliveries), (first.entry.as_str(), "j000", 2));
    // The dead worker, come back, has lost it: its touch says so and its result is refused.
    assert!(!q.touch(&first.entry, "dead").unwrap());
    assert!(!q.finish(&first, "dead", "{\"state\":\"done\",\"by\":\"dead\"}").unwrap());
    assert!(q.finish(&again, "alive", "{\"state\":\"done\",\"by\":\"alive\"}").unwrap());
    assert_eq!(q.state("s").unwrap().results["j000"], "{\"state\":\"done\",\"by\":\"alive\"}");
}

#[test]
fn a_touched_job_is_not_reclaimed() {
    let Some((mut q, _)) = queue() else { return };
    q.submit("s", &jobs(1)).unwrap();
    let t = q.take("busy", LONG, SHORT).unwrap().expect("a job");
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(60));
        assert!(q.touch(&t.entry, "busy").unwrap());
        assert_eq!(q.take("other", Duration::from_millis(150), SHORT).unwrap(), None);
    }
    let st = q.state("s").unwrap();
    assert_eq!(st.running.len(), 1);
    assert!(st.running[0].idle_ms < 150, "{:?}", st.running);
}

#[test]
fn a_failed_job_submitted_again_is_queued_again_and_a_done_one_is_not() {
    let Some((mut q, _)) = queue() else { return };
    q.submit("s", &jobs(2)).unwrap();
    let a = q.take("w", LONG, SHORT).unwrap().unwrap();
    q.finish(&a, "w", "{\"state\":\"failed\",\"error\":\"x\"}").unwrap();
    let b = q.take("w", LONG, SHORT).unwrap().unwrap();
    q.finish(&b, "w", "{\"state\":\"done\"}").unwrap();
    assert_eq!(q.submit("s", &jobs(2)).unwrap(), 1);
    let again = q.take("w", LONG, SHORT).unwrap().unwrap();
    assert_eq!(again.job, a.job);
    assert!(!q.state("s").unwrap().results.contains_key(&a.job));
}

#[test]
fn bad_sweep_names_are_refused() {
    let Some((mut q, _)) = queue() else { return };
    for bad in ["", "a:b", "x{y}"] {
        assert!(q.submit(bad, &jobs(1)).is_err(), "{bad:?}");
    }
}
