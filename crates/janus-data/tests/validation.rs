//! The checks added for inputs as users have them: off-tick (adjusted) prices, symbols with
//! spaces, control characters or case variants, explicit limits the bar crosses, adjustment
//! factors; each error names the file, the line, the column and the value.

use janus_core::{LimitRules, Price};
use janus_data::panel::flag;
use janus_data::{read_csv, CsvOptions, DataError, Panel, PriceMode};

fn load_with(text: &str, prices: PriceMode) -> Result<Panel, DataError> {
    read_csv(text.as_bytes(), "bars.csv", &CsvOptions { prices, ..CsvOptions::default() }, &LimitRules::default())
}

fn load(text: &str) -> Result<Panel, DataError> {
    load_with(text, PriceMode::Raw)
}

const H: &str = "date,symbol,open,high,low,close,volume";

/// Every new rejection: (what, csv, line, values the message must quote).
#[test]
fn every_new_rejection_names_the_file_the_line_and_the_value() {
    let cases: Vec<(&str, String, u32, Vec<&str>)> = vec![
        (
            "off-tick close (forward-adjusted data)",
            format!("{H}\n2024-01-02,600000.SH,10.00,10.50,9.90,10.2371,100"),
            2,
            vec!["`close`", "10.2371", "0.01 tick", "adj_factor", "round_to_tick"],
        ),
        (
            "off-tick open",
            format!("{H}\n2024-01-02,600000.SH,10.005,10.50,9.90,10.20,100"),
            2,
            vec!["`open`", "10.005"],
        ),
        (
            "off-tick explicit limit",
            format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,10,10.5,9.9,10.2,100,11.001,9.00"),
            2,
            vec!["`limit_up`", "11.001"],
        ),
        (
            "symbol with a space",
            format!("{H}\n2024-01-02,600000 SH,10,11,9,10.5,100"),
            2,
            vec!["`600000 SH`", "a space"],
        ),
        (
            "symbol with a full-width space",
            format!("{H}\n2024-01-02,600000\u{3000}.SH,10,11,9,10.5,100"),
            2,
            vec!["600000\\u{3000}.SH", "a space"],
        ),
        (
            "symbol with a control character",
            format!("{H}\n2024-01-02,600000.SH\u{7},10,11,9,10.5,100"),
            2,
            vec!["600000.SH\\u{7}", "a control character"],
        ),
        (
            "two case variants of one code",
            format!("{H}\n2024-01-02,600000.SH,10,11,9,10.5,100\n2024-01-03,600000.sh,10,11,9,10.5,100"),
            3,
            vec!["`600000.sh`", "`600000.SH`", "bars.csv: line 2", "letter case"],
        ),
        (
            "a trade above limit-up",
            format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,10,11.20,9.9,11,100,11.00,9.00"),
            2,
            vec!["11.2000", "above", "limit_up 11.0000"],
        ),
        (
            "a trade below limit-down",
            format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,10,10.5,8.90,10,100,11.00,9.00"),
            2,
            vec!["8.9000", "below", "limit_down 9.0000"],
        ),
        (
            "limit_down above limit_up",
            format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,10,10.5,9.9,10,100,9.00,11.00"),
            2,
            vec!["limit_down 11.0000 is above limit_up 9.0000"],
        ),
        (
            "a price above 200,000 CNY (in fen, say)",
            format!("{H}\n2024-01-02,600000.SH,10,11,9,10.5,100\n2024-01-03,600000.SH,1050,1100,900,200000.01,100"),
            3,
            vec!["`close`", "`200000.01`", "above 200,000 CNY", "in fen"],
        ),
        (
            "an explicit limit above 200,000 CNY",
            format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,10,10.5,9.9,10.2,100,300000,9.00"),
            2,
            vec!["`limit_up`", "`300000`", "above 200,000 CNY"],
        ),
        (
            "zero adjustment factor",
            format!("{H},adj_factor\n2024-01-02,600000.SH,10,11,9,10.5,100,0"),
            2,
            vec!["`adj_factor`", "`0`"],
        ),
        (
            "negative adjustment factor",
            format!("{H},adj_factor\n2024-01-02,600000.SH,10,11,9,10.5,100,-2"),
            2,
            vec!["`-2`"],
        ),
        (
            "NaN adjustment factor",
            format!("{H},adj_factor\n2024-01-02,600000.SH,10,11,9,10.5,100,NaN"),
            2,
            vec!["`NaN`"],
        ),
        (
            "text adjustment factor",
            format!("{H},adj_factor\n2024-01-02,600000.SH,10,11,9,10.5,100,x1"),
            2,
            vec!["`x1`"],
        ),
    ];
    for (what, text, line, values) in cases {
        let err = match load(&text) {
            Ok(_) => panic!("{what}: loaded without error"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&format!("bars.csv: line {line}:")), "{what}: no place in: {err}");
        for v in values {
            assert!(err.contains(v), "{what}: no `{v}` in: {err}");
        }
    }
}

#[test]
fn the_largest_accepted_price_loads_exactly_with_its_limits() {
    let p = load(&format!(
        "{H}\n2024-01-02,600000.SH,200000,200000,199999.99,200000,100\n\
         2024-01-03,600000.SH,200000,200000,200000,200000,100\n"
    ))
    .unwrap();
    let y = |yuan: i64| Price(yuan * 10_000);
    assert_eq!((p.open[0].get(), p.low[0].get(), p.close[1].get()), (y(200_000), Price(1_999_999_900), y(200_000)));
    // A main-board limit 10% above the largest price still fits the panel.
    assert_eq!((p.limit_up[1].get(), p.limit_down[1].get()), (y(220_000), y(180_000)));
}

#[test]
fn round_to_tick_mode_rounds_adjusted_prices_half_away_from_zero() {
    let text =
        format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,10.005,10.5049,9.8951,10.2371,100,11.255,9.2049\n");
    let p = load_with(&text, PriceMode::RoundToTick).unwrap();
    let y = Price::from_yuan;
    assert_eq!(
        (p.open[0].get(), p.high[0].get(), p.low[0].get(), p.close[0].get()),
        (y(10.01), y(10.5), y(9.9), y(10.24))
    );
    assert_eq!((p.limit_up[0].get(), p.limit_down[0].get()), (y(11.26), y(9.2)));
    assert!(load(&text).is_err(), "the default refuses the same file");
}

#[test]
fn adjustment_factors_load_and_an_empty_one_carries_the_previous() {
    let text = format!(
        "{H},adj_factor\n2024-01-02,000001.SZ,10,10,10,10,100,1.5\n2024-01-02,600000.SH,10,10,10,10,100,\n\
         2024-01-03,000001.SZ,10,10,10,10,100,\n2024-01-03,600000.SH,10,10,10,10,100,2\n\
         2024-01-04,000001.SZ,10,10,10,10,100,3\n"
    );
    let p = load(&text).unwrap();
    // Row-major by date: [000001.SZ, 600000.SH] per day.
    assert_eq!(p.adj_factor, [1.5, 1.0, 1.5, 2.0, 3.0, 2.0]);
    assert!(load(&format!("{H}\n2024-01-02,600000.SH,10,10,10,10,100\n")).unwrap().adj_factor.is_empty());
}

#[test]
fn explicit_limits_the_bar_touches_are_accepted() {
    let text = format!("{H},limit_up,limit_down\n2024-01-02,600000.SH,11,11,9,9,100,11.00,9.00\n");
    let p = load(&text).unwrap();
    assert_ne!(p.flags[0] & flag::EXPLICIT_LIMITS, 0);
}

#[test]
fn surrounding_spaces_in_a_symbol_field_are_trimmed_not_refused() {
    let p = load(&format!("{H}\n2024-01-02, 600000.SH ,10,11,9,10.5,100\n")).unwrap();
    assert_eq!(p.symbols, ["600000.SH"]);
}
