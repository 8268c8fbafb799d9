//! Drawdowns: how far a run's total value fell from its running peak, and for the largest fall
//! how long it took to reach the trough and to come back.
//!
//! The initial cash is the first peak, so a loss on the first day counts. Durations count
//! trading days on an index shifted by one (the initial cash is day 0, the first snapshot day
//! is day 1), so the largest fall splits exactly into `peak_to_trough + recovery_days = days`
//! when it recovered; when it did not, `days` runs to the last day and `recovery_days` is
//! `None`.

use chrono::NaiveDate;
use janus_core::{Money, RunRecord};

/// Drawdown of each snapshot's total value from the highest value so far, the initial cash
/// included, as a positive fraction.
pub fn drawdowns(record: &RunRecord, initial_cash: Money) -> Vec<f64> {
    let mut peak = initial_cash;
    record
        .account_snapshots
        .iter()
        .map(|s| {
            peak = peak.max(s.total_value);
            if peak.0 > 0 {
                1.0 - s.total_value.as_f64() / peak.as_f64()
            } else {
                0.0
            }
        })
        .collect()
}

/// The largest fall of a run's total value and how long it lasted.
pub struct Drawdown {
    /// As a positive fraction of the peak.
    pub max: f64,
    /// Date of the peak (the first day when the peak was the initial cash).
    pub start: Option<NaiveDate>,
    /// Date of the trough.
    pub end: Option<NaiveDate>,
    /// First day back at the peak.
    pub recovery: Option<NaiveDate>,
    /// Trading days from the peak to the recovery, or to the last day.
    pub days: u32,
    /// Trading days from the peak to the trough.
    pub peak_to_trough: u32,
    /// Trading days from the trough to the recovery; `None` when it never recovered.
    pub recovery_days: Option<u32>,
}

/// The largest drawdown of `record`, the initial cash counting as the peak before day one.
pub fn max_drawdown(record: &RunRecord, initial_cash: Money) -> Drawdown {
    let snaps = &record.account_snapshots;
    let mut best =
        Drawdown { max: 0.0, start: None, end: None, recovery: None, days: 0, peak_to_trough: 0, recovery_days: None };
    // Index of the trough plus one, on the same shifted scale as `peak_at`.
    let mut trough_at = 0usize;
    let mut peak = initial_cash;
    // Index of the peak plus one; 0 while the peak is the initial cash, before any trading day.
    let mut peak_at = 0usize;
    let mut best_peak = (0usize, initial_cash);
    for (i, s) in snaps.iter().enumerate() {
        if s.total_value >= peak {
            peak = s.total_value;
            peak_at = i + 1;
            continue;
        }
        if peak.0 <= 0 {
            continue;
        }
        let dd = 1.0 - s.total_value.as_f64() / peak.as_f64();
        if dd > best.max {
            let start = snaps[peak_at.saturating_sub(1)].date;
            best = Drawdown { max: dd, start: Some(start), end: Some(s.date), ..best };
            best_peak = (peak_at, peak);
            trough_at = i + 1;
        }
    }
    if best.end.is_some() {
        let (at, level) = best_peak;
        let recovered = snaps.iter().enumerate().skip(at).find(|(_, s)| s.total_value >= level);
        best.recovery = recovered.map(|(_, s)| s.date);
        // Days are counted on the index shifted by one, the initial cash being day 0.
        let until = recovered.map_or(snaps.len(), |(i, _)| i + 1);
        best.days = (until - at) as u32;
        best.peak_to_trough = (trough_at - at) as u32;
        best.recovery_days = recovered.map(|(i, _)| (i + 1 - trough_at) as u32);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::AccountSnapshot;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
    }

    fn snap(day: u32, total: Money) -> AccountSnapshot {
        AccountSnapshot {
            date: d(day),
            total_value: total,
            cash: total,
            frozen_cash: Money::ZERO,
            market_value: Money::ZERO,
            peak_value: total,
            drawdown: 0.0,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// A run of total values in thousands of yuan from the 4th, starting from 100_000 yuan.
    fn run(values: &[i64]) -> (RunRecord, Drawdown) {
        let record = RunRecord {
            account_snapshots: values.iter().zip(4..).map(|(v, day)| snap(day, Money(v * 10_000_000))).collect(),
            ..RunRecord::default()
        };
        let dd = max_drawdown(&record, Money(1_000_000_000));
        (record, dd)
    }

    #[test]
    fn a_first_day_loss_counts_as_drawdown_from_the_initial_cash() {
        let (record, dd) = run(&[90, 95]);
        assert!(close(dd.max, 0.1));
        assert_eq!((dd.start, dd.end), (Some(d(4)), Some(d(4))));
        assert_eq!(drawdowns(&record, Money(1_000_000_000)), vec![0.09999999999999998, 0.050000000000000044]);
        assert_eq!((dd.recovery, dd.days, dd.peak_to_trough, dd.recovery_days), (None, 2, 1, None));
        // Recovered on day two: the peak is the initial cash, the day before the first.
        let (_, dd) = run(&[90, 100]);
        assert_eq!((dd.recovery, dd.days, dd.peak_to_trough, dd.recovery_days), (Some(d(5)), 2, 1, Some(1)));
    }

    #[test]
    fn drawdown_duration_runs_from_the_peak_to_the_first_day_back_at_it() {
        let (_, dd) = run(&[110, 88, 100, 112, 105]);
        assert!(close(dd.max, 0.2));
        assert_eq!((dd.start, dd.end), (Some(d(4)), Some(d(5))));
        assert_eq!((dd.recovery, dd.days), (Some(d(7)), 3));
        // Down one day (the 4th to the 5th), back two days later (the 7th).
        assert_eq!((dd.peak_to_trough, dd.recovery_days), (1, Some(2)));
    }

    #[test]
    fn an_unrecovered_drawdown_counts_its_fall_and_has_no_recovery_days() {
        // Peak 120_000 on the 5th, down to 90_000 on the 7th, still below on the 8th (the end).
        let (_, dd) = run(&[110, 120, 100, 90, 95]);
        assert!(close(dd.max, 0.25));
        assert_eq!((dd.start, dd.end), (Some(d(5)), Some(d(7))));
        assert_eq!((dd.peak_to_trough, dd.recovery_days), (2, None));
        assert_eq!((dd.recovery, dd.days), (None, 3), "to the last day");
    }

    #[test]
    fn a_run_that_never_falls_has_no_drawdown() {
        let (_, dd) = run(&[100, 101, 101, 105]);
        assert_eq!((dd.max, dd.start, dd.end), (0.0, None, None));
        assert_eq!((dd.days, dd.peak_to_trough, dd.recovery_days), (0, 0, None));
    }
}
