//! The market-feed port: where the engine gets each day's close.
//!
//! A feed yields the market as of the close of the next trading day, as a [`History`]: that
//! day and the days before it, never after. A panel of stored bars is a feed
//! ([`PanelFeed`], what a backtest reads); so are live sources that grow as bars arrive.

use crate::history::History;
use crate::panel::Panel;
use crate::DataError;
use std::ops::Range;

/// Why a feed could not give the next day.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Data(#[from] DataError),
    /// The source failed (a file, a server): `feed` names it, `message` says what happened.
    #[error("{feed}: {message}")]
    Source { feed: String, message: String },
}

/// A source of closed trading days.
pub trait MarketFeed {
    /// Wait for the next trading day to close and return the market as of that close;
    /// `None` when the feed has ended.
    fn next_close(&mut self) -> Result<Option<History<'_>>, FeedError>;
}

/// The days of a loaded panel, in order: the backtest's feed.
pub struct PanelFeed<'a> {
    panel: &'a Panel,
    days: Range<usize>,
}

impl<'a> PanelFeed<'a> {
    /// A feed over `days` (indices into the panel's dates); earlier days are history only.
    pub fn new(panel: &'a Panel, days: Range<usize>) -> PanelFeed<'a> {
        let end = days.end.min(panel.n_dates());
        PanelFeed { panel, days: days.start.min(end)..end }
    }

    /// Days still to come.
    pub fn remaining(&self) -> usize {
        self.days.len()
    }
}

impl MarketFeed for PanelFeed<'_> {
    fn next_close(&mut self) -> Result<Option<History<'_>>, FeedError> {
        Ok(self.days.next().map(|day| History::new(self.panel, day)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panel_feed_yields_each_day_of_its_range_once_then_ends() {
        let csv = "date,symbol,open,high,low,close,volume\n\
                   2024-01-02,600000.SH,10,10.5,9.9,10.2,1000\n\
                   2024-01-03,600000.SH,10.2,10.6,10.1,10.5,1000\n\
                   2024-01-04,600000.SH,10.5,10.7,10.3,10.4,1000\n";
        let panel = crate::load_csv_reader(csv.as_bytes(), "t.csv", &Default::default()).expect("valid bars");
        let mut feed = PanelFeed::new(&panel, 1..3);
        let mut seen = Vec::new();
        while let Some(h) = feed.next_close().expect("no error") {
            seen.push((h.today(), h.date().to_string(), h.previous_close(0).map(|p| p.to_string())));
        }
        assert_eq!(
            seen,
            vec![
                (1, "2024-01-03".to_string(), Some("10.2000".to_string())),
                (2, "2024-01-04".to_string(), Some("10.5000".to_string()))
            ]
        );
    }

    #[test]
    fn history_cannot_reach_before_the_first_day() {
        let csv = "date,symbol,open,high,low,close,volume\n2024-01-02,600000.SH,10,10.5,9.9,10.2,1000\n";
        let panel = crate::load_csv_reader(csv.as_bytes(), "t.csv", &Default::default()).expect("valid bars");
        let h = History::new(&panel, 0);
        assert!(h.bar(0, 0).is_some());
        assert!(h.bar(1, 0).is_none());
        assert_eq!(h.previous_close(0), None);
    }
}
