//! The TOML configuration file: data source, dates, output, and the engine and strategy
//! sections. Unknown keys are errors, so a typo never silently falls back to a default.

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use janus_engine::config::{
    CorporateConfig, FeesConfig, FillConfig, Frictions, MarketConfig, RiskConfig, StrategyConfig,
};
use janus_engine::EngineConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The commented default configuration, shipped with the binary.
pub const DEFAULT_CONFIG: &str = include_str!("../../../examples/config.toml");

/// `[data]`: where the bars come from and how to read them (README: Data).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `synthetic`, or a file (or qlib folder) relative to the config file.
    pub source: String,
    /// `auto` (by extension, folder or CSV header), `janus`, `tushare`, `akshare`, `parquet`
    /// or `qlib`.
    pub format: String,
    /// `raw` (a price off the 0.01 tick is an error) or `round_to_tick` (adjusted data,
    /// rounded knowingly).
    pub prices: String,
    /// Trading-calendar file the bars are checked against.
    pub calendar: Option<PathBuf>,
    /// Universe file (index members by date): the buy model ranks only members.
    pub universe: Option<PathBuf>,
    pub seed: u64,
    pub symbols: usize,
    pub days: usize,
    pub start: NaiveDate,
}

impl Default for DataConfig {
    fn default() -> Self {
        let g = janus_data::GenConfig::default();
        DataConfig {
            source: "synthetic".into(),
            format: "auto".into(),
            prices: "raw".into(),
            calendar: None,
            universe: None,
            seed: g.seed,
            symbols: g.n_symbols,
            days: g.n_days,
            start: g.start,
        }
    }
}

impl DataConfig {
    /// The loader options of this section; relative paths are taken from `base`.
    pub fn load_options(&self, base: &Path) -> Result<janus_data::LoadOptions> {
        let format = janus_data::Format::parse(&self.format).with_context(|| {
            format!("`data.format` {:?} is not one of {}", self.format, janus_data::FORMATS.join(", "))
        })?;
        let prices = match self.prices.as_str() {
            "raw" => janus_data::PriceMode::Raw,
            "round_to_tick" => janus_data::PriceMode::RoundToTick,
            other => bail!("`data.prices` {other:?} is not \"raw\" or \"round_to_tick\""),
        };
        Ok(janus_data::LoadOptions {
            format,
            prices,
            calendar: self.calendar.as_ref().map(|c| base.join(c)),
            universe: self.universe.as_ref().map(|u| base.join(u)),
            threads: 0,
        })
    }

    /// The generator settings of this section.
    pub fn gen_config(&self) -> janus_data::GenConfig {
        janus_data::GenConfig { seed: self.seed, n_symbols: self.symbols, n_days: self.days, start: self.start }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BacktestRange {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    pub dir: PathBuf,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { dir: PathBuf::from("runs") }
    }
}

/// `[report]`: what reports measure against and how they look.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Benchmark file (`date,close` or `date,return`), relative to the config file; default the
    /// equal-weight market of the data. `--benchmark` wins.
    pub benchmark: Option<PathBuf>,
    /// `en` or `zh`; `--lang` wins.
    pub lang: janus_report::Lang,
    /// `green-up` or `red-up` (the A-share convention); `--colors` wins.
    pub colors: janus_report::Colors,
}

/// `[paper]`: where `janus paper` gets its live bars and when it starts trading.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperConfig {
    /// `file:PATH` (relative to where janus runs), `redis://HOST:PORT` or `nats://HOST:PORT`.
    pub feed: Option<String>,
    /// Redis stream key or NATS subject of the bars.
    pub stream: String,
    /// First day to trade; default: the first day after the history of `data.source`.
    pub start: Option<NaiveDate>,
    /// Name of this strategy instance in the journal.
    pub instance: String,
    /// `sim` (the simulated broker) or `gateway` (a bridge behind the gateway protocol).
    pub broker: String,
    /// The gateway's Redis URL, for `broker = "gateway"`.
    pub gateway: Option<String>,
    /// The broker account the bridge trades.
    pub account: String,
}

impl Default for PaperConfig {
    fn default() -> Self {
        PaperConfig {
            feed: None,
            stream: "janus.bars".into(),
            start: None,
            instance: janus_core::MAIN_INSTANCE.into(),
            broker: "sim".into(),
            gateway: None,
            account: "paper".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub run_id: Option<String>,
    /// Where runs are recorded: `memory`, `sqlite:PATH`, `postgres://...` or `redis://...`.
    pub store: Option<String>,
    /// How long to retry a store that went away before the run stops.
    pub store_retry_secs: Option<f64>,
    pub initial_cash: f64,
    pub data: DataConfig,
    pub backtest: BacktestRange,
    pub output: OutputConfig,
    pub market: MarketConfig,
    pub fees: FeesConfig,
    pub fill: FillConfig,
    pub risk: RiskConfig,
    /// Frictions to simulate (all on); turning one off gives an idealized run.
    pub frictions: Frictions,
    /// Dividends, bonus shares and rights: the events file and what a holder does.
    pub corporate_actions: CorporateConfig,
    pub strategy: StrategyConfig,
    pub report: ReportConfig,
    /// Paper trading (`janus paper`): the live feed.
    pub paper: PaperConfig,
}

impl Default for FileConfig {
    fn default() -> Self {
        let e = EngineConfig::default();
        FileConfig {
            run_id: None,
            store: None,
            store_retry_secs: None,
            initial_cash: e.initial_cash,
            data: DataConfig::default(),
            backtest: BacktestRange::default(),
            output: OutputConfig::default(),
            market: e.market,
            fees: e.fees,
            fill: e.fill,
            risk: e.risk,
            frictions: e.frictions,
            corporate_actions: e.corporate_actions,
            strategy: StrategyConfig::default(),
            report: ReportConfig::default(),
            paper: PaperConfig::default(),
        }
    }
}

/// A loaded config and the text it came from (kept with the run for provenance).
pub struct Loaded {
    pub config: FileConfig,
    pub text: String,
    /// Folder relative data paths are resolved against.
    pub base: PathBuf,
}

impl FileConfig {
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            initial_cash: self.initial_cash,
            market: self.market.clone(),
            fees: self.fees.clone(),
            fill: self.fill.clone(),
            risk: self.risk.clone(),
            frictions: self.frictions,
            corporate_actions: self.corporate_actions.clone(),
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<FileConfig> {
        let cfg: FileConfig = toml::from_str(text).with_context(|| format!("config {origin} is not valid"))?;
        cfg.engine().validate().with_context(|| format!("config {origin}"))?;
        cfg.strategy.validate().with_context(|| format!("config {origin}"))?;
        cfg.data.load_options(Path::new(".")).with_context(|| format!("config {origin}"))?;
        if cfg.data.source == "synthetic" {
            let memory = crate::bench::machine_memory_bytes();
            cfg.data
                .gen_config()
                .validate(("data.symbols", "data.days"), memory)
                .with_context(|| format!("config {origin}"))?;
            if cfg.data.calendar.is_some() {
                bail!(
                    "config {origin}: `data.calendar` checks a data file; the synthetic market keeps the exchanges' \
                     holidays itself (remove the key, or set `data.source`)"
                );
            }
        }
        if let (Some(s), Some(e)) = (cfg.backtest.start, cfg.backtest.end) {
            if s > e {
                bail!("config {origin}: `backtest.start` ({s}) is after `backtest.end` ({e})");
            }
        }
        if cfg.paper.instance.is_empty() || cfg.paper.stream.is_empty() {
            bail!("config {origin}: `paper.instance` and `paper.stream` may not be empty");
        }
        if let Some(id) = &cfg.run_id {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                bail!("config {origin}: `run_id` {id:?} may use only letters, digits, '-', '_' and '.'");
            }
        }
        Ok(cfg)
    }
}

/// Read a config file, or the built-in defaults when `path` is `None`.
pub fn load(path: Option<&Path>) -> Result<Loaded> {
    match path {
        None => Ok(Loaded {
            config: FileConfig::parse(DEFAULT_CONFIG, "(built-in defaults)")?,
            text: DEFAULT_CONFIG.to_string(),
            base: PathBuf::from("."),
        }),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("cannot read config file {}", p.display()))?;
            let config = FileConfig::parse(&text, &p.display().to_string())?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
            Ok(Loaded { config, text, base })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_parses_and_equals_the_defaults() {
        let cfg = FileConfig::parse(DEFAULT_CONFIG, "default").unwrap();
        assert_eq!(cfg.engine(), EngineConfig::default());
        assert_eq!(cfg.strategy, StrategyConfig::default());
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let err = FileConfig::parse("[risk]\nmax_postions = 3\n", "x.toml").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("max_postions") && msg.contains("x.toml"), "{msg}");
    }

    #[test]
    fn the_report_section_reads_benchmark_language_and_colours_and_names_a_bad_value() {
        let cfg = FileConfig::parse("[report]\nbenchmark = \"csi300.csv\"\nlang = \"zh\"\ncolors = \"red-up\"\n", "x")
            .unwrap();
        assert_eq!(cfg.report.benchmark.as_deref(), Some(Path::new("csi300.csv")));
        assert_eq!((cfg.report.lang, cfg.report.colors), (janus_report::Lang::Zh, janus_report::Colors::RedUp));
        let default = FileConfig::parse(DEFAULT_CONFIG, "default").unwrap().report;
        assert_eq!((default.lang, default.colors, default.benchmark), Default::default());
        for (text, bad) in [("lang = \"fr\"", "fr"), ("colors = \"blue\"", "blue"), ("colours = 1", "colours")] {
            let msg = format!("{:#}", FileConfig::parse(&format!("[report]\n{text}\n"), "x.toml").unwrap_err());
            assert!(msg.contains(bad) && msg.contains("x.toml"), "{msg}");
        }
    }

    /// (the `[data]` lines, words the error must contain; None when valid).
    #[test]
    fn the_data_section_is_validated_naming_the_key_and_value() {
        let cases: [(&str, Option<&[&str]>); 9] = [
            ("format = \"tushare\"\nprices = \"round_to_tick\"\nsource = \"d.csv\"", None),
            ("source = \"q\"\nformat = \"qlib\"\ncalendar = \"cal.txt\"\nuniverse = \"csi300.txt\"", None),
            ("format = \"excel\"", Some(&["data.format", "excel", "tushare"])),
            ("prices = \"adjusted\"", Some(&["data.prices", "adjusted", "round_to_tick"])),
            ("symbols = 0", Some(&["data.symbols", "is 0"])),
            ("days = 0", Some(&["data.days", "is 0"])),
            ("days = 1", Some(&["data.days", "at least 2"])),
            ("symbols = 90000\ndays = 100000", Some(&["data.days", "cells"])),
            ("calendar = \"cal.txt\"", Some(&["data.calendar", "synthetic"])),
        ];
        for (lines, want) in cases {
            let got = FileConfig::parse(&format!("[data]\n{lines}\n"), "x.toml");
            match (got, want) {
                (Ok(_), None) => {}
                (Err(e), Some(words)) => {
                    let msg = format!("{e:#}");
                    for w in words.iter().chain(&["x.toml"]) {
                        assert!(msg.contains(w), "{lines}: no `{w}` in {msg}");
                    }
                }
                (got, _) => panic!("{lines}: {:?}", got.map(|_| ())),
            }
        }
        let opts = FileConfig::parse("[data]\nsource = \"d\"\ncalendar = \"c.txt\"\n", "x").unwrap().data;
        let o = opts.load_options(Path::new("cfg")).unwrap();
        assert_eq!(o.calendar.as_deref(), Some(Path::new("cfg/c.txt")), "relative to the config file");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = FileConfig::parse("[fill]\nvolume_participation = 2.0\n", "x.toml").unwrap_err();
        assert!(format!("{err:#}").contains("fill.volume_participation"));
        let err = FileConfig::parse("[fill]\nprice = \"midday\"\n", "x.toml").unwrap_err();
        assert!(format!("{err:#}").contains("midday"));
    }
}
