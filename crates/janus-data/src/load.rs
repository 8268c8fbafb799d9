//! One entry point for every input format: [`load`] picks the reader from `[data] format` (or
//! from the path when it is unambiguous), then checks the trading calendar and marks the
//! universe, so the rest of Janus sees one kind of [`Panel`] whatever the user had.

use crate::calendar::Calendar;
use crate::error::DataError;
use crate::loader::{load_csv_with, CsvOptions, CsvPreset, JANUS};
use crate::panel::Panel;
use crate::rows::PriceMode;
use crate::universe::Universe;
use janus_core::LimitRules;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An input format (`[data] format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// From the path: a folder is qlib, `.parquet`/`.pq` is Parquet, and a CSV is told by its
    /// header (`ts_code` is tushare, `日期` is akshare, anything else Janus).
    #[default]
    Auto,
    Janus,
    Tushare,
    Akshare,
    Parquet,
    Qlib,
}

/// Every format name, for messages.
pub const FORMATS: [&str; 6] = ["auto", "janus", "tushare", "akshare", "parquet", "qlib"];

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "auto" => Format::Auto,
            "janus" | "csv" => Format::Janus,
            "tushare" => Format::Tushare,
            "akshare" => Format::Akshare,
            "parquet" => Format::Parquet,
            "qlib" => Format::Qlib,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Janus => "janus",
            Format::Tushare => "tushare",
            Format::Akshare => "akshare",
            Format::Parquet => "parquet",
            Format::Qlib => "qlib",
        }
    }

    fn preset(self) -> &'static CsvPreset {
        match self {
            Format::Tushare => &crate::tushare::TUSHARE,
            Format::Akshare => &crate::akshare::AKSHARE,
            _ => &JANUS,
        }
    }

    /// The concrete format of `path` (see [`Format::Auto`]).
    pub fn detect(path: &Path) -> Result<Format, DataError> {
        if path.is_dir() {
            return Ok(Format::Qlib);
        }
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("parquet" | "pq")) {
            return Ok(Format::Parquet);
        }
        let file = path.display().to_string();
        let mut f = std::fs::File::open(path).map_err(|source| DataError::Open { file, source })?;
        let mut head = vec![0u8; 4096];
        let mut got = 0;
        while got < head.len() {
            match f.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(_) => break,
            }
        }
        if head[..got].starts_with(b"PAR1") {
            return Ok(Format::Parquet);
        }
        let text = String::from_utf8_lossy(&head[..got]);
        let header = text.lines().next().unwrap_or("").to_lowercase();
        let names: Vec<&str> = header.split(',').map(|h| h.trim().trim_start_matches('\u{feff}')).collect();
        Ok(if names.contains(&"ts_code") {
            Format::Tushare
        } else if names.contains(&"日期") {
            Format::Akshare
        } else {
            Format::Janus
        })
    }
}

/// How to load (the `[data]` section).
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub format: Format,
    pub prices: PriceMode,
    /// Trading-calendar file the data is checked against.
    pub calendar: Option<PathBuf>,
    /// Universe file whose members the buy model may pick.
    pub universe: Option<PathBuf>,
    /// Parsing threads (0: one per core, at most 4).
    pub threads: usize,
}

/// Load `path` in the configured format; limits missing from the data are derived with
/// `rules`. Returns the panel and the format it was read as.
pub fn load(path: &Path, opts: &LoadOptions, rules: &LimitRules) -> Result<(Panel, Format), DataError> {
    let calendar = opts.calendar.as_deref().map(Calendar::load).transpose()?;
    let format = match opts.format {
        Format::Auto => Format::detect(path)?,
        f => f,
    };
    let mut panel = match format {
        Format::Parquet => crate::parquet_bars::load_parquet(path, opts.prices, calendar.as_ref(), rules)?,
        Format::Qlib => crate::qlib::load_qlib(path, calendar.as_ref(), rules)?,
        _ => {
            let csv = CsvOptions {
                preset: format.preset(),
                prices: opts.prices,
                calendar: calendar.as_ref(),
                threads: opts.threads,
                block_bytes: 0,
            };
            load_csv_with(path, &csv, rules)?
        }
    };
    if let Some(u) = &opts.universe {
        Universe::load(u)?.apply(&mut panel)?;
    }
    Ok((panel, format))
}
