//! Every input format through [`janus_data::load`]: detection, Parquet (Janus's own and as
//! pandas writes it), the trading calendar and the universe.

mod common;

use janus_core::{LimitRules, Price};
use janus_data::panel::flag;
use janus_data::{
    generate, load, write_csv, write_parquet, write_parquet_groups, Format, GenConfig, LoadOptions, Panel,
};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::path::Path;
use std::sync::Arc;

fn rules() -> LimitRules {
    LimitRules::default()
}

fn small_market() -> Panel {
    generate(&GenConfig { n_symbols: 17, n_days: 30, seed: 9, ..GenConfig::default() }, &rules())
}

fn load_auto(path: &Path) -> Result<(Panel, Format), janus_data::DataError> {
    load(path, &LoadOptions::default(), &rules())
}

#[test]
fn a_panel_written_as_parquet_loads_back_identical_to_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let p = small_market();
    let (pq, csv) = (dir.path().join("m.parquet"), dir.path().join("m.csv"));
    write_parquet(&p, &pq).unwrap();
    write_csv(&p, std::fs::File::create(&csv).unwrap()).unwrap();
    let (from_pq, f1) = load_auto(&pq).unwrap();
    let (from_csv, f2) = load_auto(&csv).unwrap();
    assert_eq!((f1, f2), (Format::Parquet, Format::Janus));
    common::assert_same_panel(&p, &from_pq);
    common::assert_same_panel(&from_csv, &from_pq);
}

#[test]
fn many_row_groups_read_on_several_threads_give_the_same_panel() {
    let dir = tempfile::tempdir().unwrap();
    let p = small_market();
    let path = dir.path().join("groups.parquet");
    let mut p = p;
    // Factors that change on some days; a day without a bar keeps the symbol's last one.
    let n = p.n_symbols();
    let mut last = vec![1.0; n];
    p.adj_factor = (0..p.flags.len())
        .map(|i| {
            if p.flags[i] & flag::PRESENT != 0 {
                last[i % n] = 1.0 + (i % 7) as f64 / 8.0;
            }
            last[i % n]
        })
        .collect();
    write_parquet_groups(&p, &path, 37).unwrap();
    let (back, _) = load_auto(&path).unwrap();
    common::assert_same_panel(&p, &back);
}

/// A file as pandas writes it: nullable doubles, nanosecond timestamps, rows grouped by
/// symbol (unsorted), an index column, a few nulls.
/// date (days since 1970), symbol, open, high, low, close, volume (None: null).
type Row = (i64, &'static str, f64, f64, f64, f64, Option<f64>);

fn pandas_like(path: &Path, rows: &[Row]) {
    let message =
        "message schema {\n optional int64 date (TIMESTAMP(NANOS,false));\n optional binary symbol (UTF8);\n \
                   optional double open;\n optional double high;\n optional double low;\n optional double close;\n \
                   optional double volume;\n optional int64 __index_level_0__;\n}";
    let schema = Arc::new(parquet::schema::parser::parse_message_type(message).unwrap());
    let props = Arc::new(WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build());
    let mut w = SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let n = rows.len();
    let all = vec![1i16; n];
    let mut k = 0;
    while let Some(mut col) = rg.next_column().unwrap() {
        match k {
            0 => {
                let v: Vec<i64> = rows.iter().map(|r| r.0 * 86_400_000_000_000).collect();
                col.typed::<Int64Type>().write_batch(&v, Some(&all), None).unwrap();
            }
            1 => {
                let v: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r.1)).collect();
                col.typed::<ByteArrayType>().write_batch(&v, Some(&all), None).unwrap();
            }
            2..=5 => {
                let v: Vec<f64> = rows.iter().map(|r| [r.2, r.3, r.4, r.5][k - 2]).collect();
                col.typed::<DoubleType>().write_batch(&v, Some(&all), None).unwrap();
            }
            6 => {
                let defs: Vec<i16> = rows.iter().map(|r| r.6.is_some() as i16).collect();
                let v: Vec<f64> = rows.iter().filter_map(|r| r.6).collect();
                col.typed::<DoubleType>().write_batch(&v, Some(&defs), None).unwrap();
            }
            _ => {
                let v: Vec<i64> = (0..n as i64).collect();
                col.typed::<Int64Type>().write_batch(&v, Some(&all), None).unwrap();
            }
        }
        col.close().unwrap();
        k += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
}

/// 2024-01-02 as days since 1970-01-01.
const JAN2: i64 = 19_724;

#[test]
fn a_pandas_style_parquet_file_with_timestamps_and_unsorted_rows_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bars.pq");
    pandas_like(
        &path,
        &[
            (JAN2 + 1, "600000.SH", 10.1, 10.3, 10.0, 10.2, Some(2000.0)),
            (JAN2, "600000.SH", 10.0, 10.2, 9.9, 10.1, Some(1000.0)),
            (JAN2, "000001.SZ", 9.0, 9.1, 8.9, 9.0, Some(500.0)),
        ],
    );
    let (p, format) = load_auto(&path).unwrap();
    assert_eq!(format, Format::Parquet);
    assert_eq!(p.symbols, ["000001.SZ", "600000.SH"]);
    assert_eq!(p.dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["2024-01-02", "2024-01-03"]);
    let i = p.idx(1, 1);
    assert_eq!((p.close[i].get(), p.volume[i]), (Price::from_yuan(10.2), 2000.0));
    assert_eq!(p.limit_up[i].get(), Price::from_yuan(11.11), "derived from the previous close 10.10");
}

/// (what, rows, the row and values the error must name).
#[test]
fn bad_parquet_rows_name_the_file_row_column_and_value() {
    let ok: Row = (JAN2, "600000.SH", 10.0, 10.2, 9.9, 10.1, Some(1.0));
    let cases: Vec<(&str, Vec<Row>, &str, Vec<&str>)> = vec![
        (
            "off-tick price",
            vec![ok, (JAN2 + 1, "600000.SH", 10.0, 10.2, 9.9, 10.1234, Some(1.0))],
            "row 2",
            vec!["`close`", "10.1234", "0.01 tick"],
        ),
        ("NaN price", vec![(JAN2, "600000.SH", f64::NAN, 10.2, 9.9, 10.1, Some(1.0))], "row 1", vec!["`open`", "NaN"]),
        ("null volume", vec![ok, (JAN2 + 1, "600000.SH", 10.0, 10.2, 9.9, 10.1, None)], "row 2", vec!["`volume`"]),
        ("duplicate bar", vec![ok, ok], "row 2", vec!["second bar", "row 1"]),
        ("symbol with a space", vec![(JAN2, "600000 SH", 10.0, 10.2, 9.9, 10.1, Some(1.0))], "row 1", vec!["a space"]),
        ("high below low", vec![(JAN2, "600000.SH", 10.0, 9.0, 9.9, 10.1, Some(1.0))], "row 1", vec!["high 9.0000"]),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, rows, row, values) in cases {
        let path = dir.path().join("bad.parquet");
        pandas_like(&path, &rows);
        let e = load_auto(&path).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(&format!("bad.parquet: {row}:")), "{what}: {e}");
        for v in values {
            assert!(e.contains(v), "{what}: no `{v}` in {e}");
        }
    }
    let path = dir.path().join("cols.parquet");
    std::fs::write(&path, b"PAR1 not really").unwrap();
    let e = load_auto(&path).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("cols.parquet") && e.contains("cannot read Parquet"), "{e}");
}

/// (header, detected format).
#[test]
fn csv_presets_are_detected_by_their_header() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("date,symbol,open,high,low,close,volume\n2024-01-02,600000.SH,10,10,10,10,1\n", Format::Janus),
        ("ts_code,trade_date,open,high,low,close,vol,amount\n600000.SH,20240102,10,10,10,10,1,1\n", Format::Tushare),
        (
            "\u{feff}日期,股票代码,开盘,收盘,最高,最低,成交量,成交额\n2024-01-02,600000,10,10,10,10,1,1\n",
            Format::Akshare,
        ),
    ];
    for (text, want) in cases {
        let path = dir.path().join("bars.csv");
        std::fs::write(&path, text).unwrap();
        let (p, got) = load_auto(&path).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(p.symbols, ["600000.SH"]);
    }
    assert_eq!(Format::detect(dir.path()).unwrap(), Format::Qlib);
    for name in janus_data::FORMATS {
        assert_eq!(Format::parse(name).map(Format::name), Some(name));
    }
}

const BARS: &str = "date,symbol,open,high,low,close,volume\n\
                    2024-01-02,600000.SH,10,10,10,10,1\n2024-01-02,600001.SH,10,10,10,10,1\n\
                    2024-01-03,600000.SH,10,10,10,10,1\n\
                    2024-01-05,600000.SH,10,10,10,10,1\n";

/// (what, calendar, error place and words, or None when the bars agree).
#[test]
fn bars_are_checked_against_the_trading_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let bars = dir.path().join("bars.csv");
    std::fs::write(&bars, BARS).unwrap();
    type Case = (&'static str, &'static str, Option<(&'static str, &'static str)>);
    let cases: [Case; 4] = [
        ("agrees, with days outside the data", "2023-12-29\n2024-01-02\n2024-01-03\n2024-01-05\n2024-01-08\n", None),
        (
            "a bar on a holiday",
            "2024-01-02\n2024-01-05\n",
            Some(("bars.csv: line 4", "2024-01-03 has bars but is not a trading day")),
        ),
        (
            "a trading day without bars",
            "2024-01-02\n2024-01-03\n2024-01-04\n2024-01-05\n",
            Some(("cal.txt: line 3", "2024-01-04 has no bar")),
        ),
        ("a bad calendar line", "2024-01-02\nsoon\n", Some(("cal.txt: line 2", "`soon`"))),
    ];
    for (what, cal, want) in cases {
        let cal_path = dir.path().join("cal.txt");
        std::fs::write(&cal_path, cal).unwrap();
        let opts = LoadOptions { calendar: Some(cal_path), ..LoadOptions::default() };
        match (load(&bars, &opts, &rules()), want) {
            (Ok((p, _)), None) => assert_eq!(p.n_dates(), 3, "{what}"),
            (Err(e), Some((at, words))) => {
                let e = e.to_string();
                assert!(e.contains(at) && e.contains(words), "{what}: {e}");
            }
            (got, _) => panic!("{what}: {:?}", got.map(|_| ())),
        }
    }
}

#[test]
fn a_universe_file_marks_non_members_day_by_day() {
    let dir = tempfile::tempdir().unwrap();
    let bars = dir.path().join("bars.csv");
    std::fs::write(&bars, BARS).unwrap();
    let uni = dir.path().join("csi.csv");
    std::fs::write(&uni, "date,symbol\n2024-01-02,600001.SH\n2024-01-03,600000.SH\n").unwrap();
    let opts = LoadOptions { universe: Some(uni.clone()), ..LoadOptions::default() };
    let (p, _) = load(&bars, &opts, &rules()).unwrap();
    let out = |d: usize, s: u32| p.flags[p.idx(d, s)] & flag::OUT_OF_UNIVERSE != 0;
    assert!(out(0, 0) && !out(0, 1), "day 0: only 600001.SH");
    assert!(!out(1, 0) && out(1, 1), "day 1 on: only 600000.SH");
    assert!(!out(2, 0));

    std::fs::write(&uni, "date,symbol\n2024-01-02,SH600000\n").unwrap();
    let opts = LoadOptions { universe: Some(uni.clone()), ..LoadOptions::default() };
    let (p, _) = load(&bars, &opts, &rules()).unwrap();
    assert_eq!(p.flags[p.idx(0, 0)] & flag::OUT_OF_UNIVERSE, 0, "a qlib-style code is read as 600000.SH");
    std::fs::write(&uni, "date,symbol\n2024-01-02,000300.XSHG\n").unwrap();
    let opts = LoadOptions { universe: Some(uni), ..LoadOptions::default() };
    let e = load(&bars, &opts, &rules()).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("csi.csv") && e.contains("none of the 1 symbols"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// The column-wise checks of Parquet accept and refuse exactly what a CSV row's checks do,
    /// and load the same values.
    #[test]
    fn parquet_and_csv_agree_on_every_row_valid_or_not(
        rows in proptest::collection::btree_map(
            (0i64..4, proptest::sample::select(vec!["600000.SH", "000001.SZ", "300750.SZ"])),
            (0u32..3000, 0u32..3000, 0u32..3000, 0u32..3000, proptest::option::of(0u32..500)),
            1..10,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        // Prices in fen, a few of them off the tick by a tenth of a fen.
        let yuan = |f: u32| if f % 97 == 5 { f as f64 / 100.0 + 0.001 } else { f as f64 / 100.0 };
        let list: Vec<Row> = rows
            .iter()
            .map(|(&(d, s), &(o, h, l, c, v))| (JAN2 + d, s, yuan(o), yuan(h), yuan(l), yuan(c), v.map(f64::from)))
            .collect();
        let pq = dir.path().join("r.parquet");
        pandas_like(&pq, &list);
        let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
        for r in &list {
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(r.0);
            let vol = r.6.map_or(String::new(), |v| v.to_string());
            csv.push_str(&format!("{date},{},{},{},{},{},{vol}\n", r.1, r.2, r.3, r.4, r.5));
        }
        let path = dir.path().join("r.csv");
        std::fs::write(&path, csv).unwrap();
        match (load_auto(&pq), load_auto(&path)) {
            (Ok((a, _)), Ok((b, _))) => common::assert_same_panel(&a, &b),
            (Err(_), Err(_)) => {}
            (a, b) => proptest::prop_assert!(false, "parquet {:?} vs csv {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }
}
