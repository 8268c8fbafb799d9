//! The CSV loader: exact panels from small hand-written files, and every rejection.

mod common;

use janus_core::{Board, LimitRules, Price};
use janus_data::panel::flag;
use janus_data::{load_csv, load_csv_reader, write_csv, DataError};
use proptest::prelude::*;

fn load(text: &str) -> Result<janus_data::Panel, DataError> {
    load_csv_reader(text.as_bytes(), "test.csv", &LimitRules::default())
}

fn p(y: f64) -> Price {
    Price::from_yuan(y)
}

const SMALL: &str = "\
date,symbol,open,high,low,close,volume,amount,vwap,limit_up,limit_down,paused,is_st
2024-01-02,000001.SZ,10.00,10.50,9.90,10.20,1000,10100.5,,,,0,0
2024-01-02,300750.SZ,100,110,95,105,500,,101,,,,
2024-01-02,600000.SH,5.00,5.00,5.00,5.00,0,0,,,,1,1
2024-01-03,000001.SZ,10.20,11.22,10.20,11.22,2000,22000,,,,false,FALSE
2024-01-03,300750.SZ,105,120,100,110,800,,,130.00,80.00,,
2024-01-03,600000.SH,5,5.25,4.9,5.1,300,1500,,,,TRUE,true
20240104,000001.SZ,11.5,11.8,11.1,11.3,100,1130,,,,,
20240104,300750.SZ,111,111,100.5,101.25,100,,,,,,
20240104,688001.SH,30.12,40,30,35,900,31500,,,,,
";

#[test]
fn a_small_csv_loads_into_the_exact_panel() {
    let pl = load(SMALL).unwrap();
    assert_eq!(pl.dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["2024-01-02", "2024-01-03", "2024-01-04"]);
    assert_eq!(pl.symbols, ["000001.SZ", "300750.SZ", "600000.SH", "688001.SH"]);
    assert_eq!(pl.boards, [Board::Main, Board::ChiNext, Board::Main, Board::Star]);
    assert_eq!(pl.n_bars(), 9);
    let at = |d: usize, s: u32| pl.idx(d, s);

    // Day 0, 000001.SZ: exact prices, no limits on a first bar, amount as given.
    let i = at(0, 0);
    assert_eq!(
        (pl.open[i].get(), pl.high[i].get(), pl.low[i].get(), pl.close[i].get()),
        (p(10.0), p(10.5), p(9.9), p(10.2))
    );
    assert_eq!((pl.volume[i], pl.amount[i]), (1000.0, 10100.5));
    assert_eq!((pl.limit_up[i].get(), pl.limit_down[i].get(), pl.flags[i]), (Price::ZERO, Price::ZERO, flag::PRESENT));
    // vwap without amount gives amount = vwap * volume.
    assert_eq!(pl.amount[at(0, 1)], 101.0 * 500.0);
    // Volume 0 and paused=1 both pause; is_st sets ST.
    assert_eq!(pl.flags[at(0, 2)], flag::PRESENT | flag::PAUSED | flag::ST);

    // Day 1: derived limits from the previous close, by board and ST flag.
    let i = at(1, 0);
    assert_eq!((pl.limit_up[i].get(), pl.limit_down[i].get(), pl.flags[i]), (p(11.22), p(9.18), flag::PRESENT));
    let i = at(1, 1);
    assert_eq!((pl.limit_up[i].get(), pl.limit_down[i].get()), (p(130.0), p(80.0)), "explicit limits win");
    assert_eq!(pl.flags[i], flag::PRESENT | flag::EXPLICIT_LIMITS);
    assert!(pl.amount[i].is_nan(), "no amount and no vwap");
    let i = at(1, 2);
    assert_eq!((pl.limit_up[i].get(), pl.limit_down[i].get()), (p(5.25), p(4.75)), "ST main board: 5%");
    assert_eq!(pl.flags[i], flag::PRESENT | flag::PAUSED | flag::ST, "paused flag with volume");

    // Day 2 (YYYYMMDD dates): ChiNext 20% from the previous close 110.
    let i = at(2, 1);
    assert_eq!((pl.limit_up[i].get(), pl.limit_down[i].get()), (p(132.0), p(88.0)));
    assert_eq!((pl.low[i].get(), pl.close[i].get()), (p(100.5), p(101.25)));
    // 688001.SH lists on day 2: absent cells are empty, its first bar has no limits.
    for d in 0..2 {
        let i = at(d, 3);
        assert_eq!((pl.flags[i], pl.close[i].get(), pl.volume[i]), (0, Price::ZERO, 0.0));
        assert!(pl.amount[i].is_nan());
    }
    let i = at(2, 3);
    assert_eq!((pl.open[i].get(), pl.limit_up[i].get(), pl.flags[i]), (Price(301_200), Price::ZERO, flag::PRESENT));
    // 600000.SH has no bar on day 2.
    assert!(!pl.is_present(2, 2));
}

#[test]
fn columns_may_come_in_any_order_with_extra_ones_ignored() {
    let text = "Volume, Close ,low,high,open,symbol,name,date\n100,10.5,10,11,10.2,600000.SH,Pufa,2024-01-02\n";
    let pl = load(text).unwrap();
    assert_eq!((pl.close[0].get(), pl.high[0].get(), pl.volume[0]), (p(10.5), p(11.0), 100.0));
    assert!(pl.amount[0].is_nan());
}

#[test]
fn a_panel_with_explicit_limits_round_trips_through_write_csv() {
    let pl = load(SMALL).unwrap();
    let mut out = Vec::new();
    write_csv(&pl, &mut out).unwrap();
    let again = load_csv_reader(out.as_slice(), "written", &LimitRules::default()).unwrap();
    common::assert_same_panel(&pl, &again);
}

#[test]
fn load_csv_reads_a_file_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bars.csv");
    std::fs::write(&path, SMALL).unwrap();
    let pl = load_csv(&path, &LimitRules::default()).unwrap();
    assert_eq!(pl.n_bars(), 9);

    let missing = dir.path().join("nope.csv");
    let err = load_csv(&missing, &LimitRules::default()).unwrap_err();
    assert!(matches!(err, DataError::Open { .. }));
    assert!(err.to_string().contains("nope.csv"), "{err}");
}

const H: &str = "date,symbol,open,high,low,close,volume";
const ROW: &str = "2024-01-02,600000.SH,10,11,9,10.5,100";

/// Every rejection: (what, csv, line, a value the message must quote).
#[test]
fn every_validation_error_names_the_file_the_line_and_the_value() {
    let cases: Vec<(&str, String, u32, &str)> = vec![
        ("missing column", "date,symbol,open,high,low,volume\n2024-01-02,A,1,1,1,1".into(), 1, "close"),
        (
            "missing column lists the header",
            "date,symbol,open,high,low,volume\n".into(),
            1,
            "date,symbol,open,high,low,volume",
        ),
        ("duplicate column", format!("{H},close\n{ROW},10.5"), 1, "close"),
        ("nan price", format!("{H}\n{ROW}\n2024-01-03,600000.SH,NaN,11,9,10,100"), 3, "NaN"),
        ("infinite volume", format!("{H}\n2024-01-02,600000.SH,10,11,9,10.5,inf"), 2, "inf"),
        ("unparsable price", format!("{H}\n2024-01-02,600000.SH,1o.5,11,9,10.5,100"), 2, "1o.5"),
        ("unparsable volume", format!("{H}\n2024-01-02,600000.SH,10,11,9,10.5,1.2.3"), 2, "1.2.3"),
        ("unparsable amount", format!("{H},amount\n{ROW},12k"), 2, "12k"),
        ("zero price", format!("{H}\n2024-01-02,600000.SH,10,11,0,10.5,100"), 2, "low"),
        ("negative price", format!("{H}\n2024-01-02,600000.SH,10,11,9,-10.5,100"), 2, "-10.5"),
        ("negative volume", format!("{H}\n2024-01-02,600000.SH,10,11,9,10.5,-100"), 2, "-100"),
        ("high below low", format!("{H}\n2024-01-02,600000.SH,10,9,11,10.5,100"), 2, "9.0000"),
        ("open above high", format!("{H}\n2024-01-02,600000.SH,11.5,11,9,10.5,100"), 2, "11.5000"),
        ("close below low", format!("{H}\n2024-01-02,600000.SH,10,11,9,8.99,100"), 2, "8.9900"),
        ("limits inverted", format!("{H},limit_up,limit_down\n{ROW},9,11"), 2, "11.0000"),
        ("duplicate bar", format!("{H}\n{ROW}\n{ROW}"), 3, "600000.SH"),
        ("unsorted dates", format!("{H}\n{ROW}\n2024-01-01,600000.SH,10,11,9,10.5,100"), 3, "2024-01-01"),
        ("unsorted symbols", format!("{H}\n{ROW}\n2024-01-02,000001.SZ,10,11,9,10.5,100"), 3, "000001.SZ"),
        ("bad date", format!("{H}\n2024-13-02,600000.SH,10,11,9,10.5,100"), 2, "2024-13-02"),
        ("bad date format", format!("{H}\n{ROW}\n02/01/2024,600000.SH,10,11,9,10.5,100"), 3, "02/01/2024"),
        ("empty date", format!("{H}\n,600000.SH,10,11,9,10.5,100"), 2, "date"),
        ("empty symbol", format!("{H}\n2024-01-02,,10,11,9,10.5,100"), 2, "symbol"),
        ("too few fields", format!("{H}\n{ROW}\n2024-01-03,600000.SH,10,11,9,10.5"), 3, "found 6"),
        ("too many fields", format!("{H}\n{ROW},7"), 2, "found 8"),
        ("bad paused flag", format!("{H},paused\n{ROW},yes"), 2, "yes"),
        ("bad st flag", format!("{H},is_st\n{ROW},2"), 2, "is_st"),
        ("empty volume", format!("{H}\n2024-01-02,600000.SH,10,11,9,10.5,"), 2, "volume"),
        ("bad vwap", format!("{H},vwap\n{ROW},NaN"), 2, "NaN"),
        ("header only", format!("{H}\n"), 0, "no data rows"),
        ("empty input", String::new(), 0, "no data rows"),
    ];
    for (what, text, line, value) in cases {
        let err = match load(&text) {
            Ok(_) => panic!("{what}: loaded without error"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("test.csv"), "{what}: no file name in: {err}");
        if line > 0 {
            assert!(err.contains(&format!("line {line}:")), "{what}: no line {line} in: {err}");
        }
        assert!(err.contains(value), "{what}: no `{value}` in: {err}");
        if std::env::var_os("SHOW_ERRORS").is_some() {
            eprintln!("{what}: {err}");
        }
    }
}

#[test]
fn unsorted_rows_are_reported_with_the_row_they_follow() {
    let text = format!("{H}\n{ROW}\n2024-01-02,600001.SH,10,11,9,10.5,100\n2024-01-02,600000.SH,10,11,9,10.5,100");
    let err = load(&text).unwrap_err();
    match &err {
        DataError::Unsorted { at, prev_line, prev_symbol, .. } => {
            assert_eq!((at.line, *prev_line, prev_symbol.as_str()), (4, 3, "600001.SH"));
        }
        other => panic!("want Unsorted, got {other:?}"),
    }
    assert!(err.to_string().contains("sort the rows by date, then by symbol"), "{err}");
}

#[test]
fn a_lone_limit_is_validated_but_does_not_count_as_explicit() {
    let pl = load(&format!("{H},limit_up,limit_down\n{ROW},11.55,")).unwrap();
    assert_eq!(pl.flags[0], flag::PRESENT);
    assert!(load(&format!("{H},limit_up,limit_down\n{ROW},abc,")).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_loader(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = load_csv_reader(bytes.as_slice(), "fuzz", &LimitRules::default());
    }

    #[test]
    fn arbitrary_rows_under_a_valid_header_never_panic_the_loader(
        lines in proptest::collection::vec("[-0-9A-Za-z.,:eE+ \"]{0,60}", 0..8),
        valid in proptest::collection::vec(
            ("20240[1-3]0[1-9]", "(60000[0-3]|300750|688001|83000[0-2])\\.(SH|SZ|BJ)",
             "[0-9]{1,3}(\\.[0-9]{1,3})?", "[0-9]{1,3}(\\.[0-9]{1,3})?", "[0-9]{1,5}", "(0|1|true|)"),
            0..8),
    ) {
        let mut text = String::from("date,symbol,open,high,low,close,volume,amount,paused,limit_up,limit_down\n");
        for (d, s, a, b, v, f) in &valid {
            text.push_str(&format!("{d},{s},{a},{b},{a},{b},{v},,{f},{b},{a}\n"));
        }
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        let _ = load_csv_reader(text.as_bytes(), "fuzz", &LimitRules::default());
    }
}
