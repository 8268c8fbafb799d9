//! Limit prices derived by the rules of each bar's date, board, ST flag and listing age.

use chrono::NaiveDate;
use janus_core::{LimitRules, Listing, Price};
use janus_data::{load_csv_reader, Panel};

const HEADER: &str = "date,symbol,open,high,low,close,volume,is_st";

fn panel(rows: &str, rules: &LimitRules) -> Panel {
    load_csv_reader(format!("{HEADER}\n{rows}").as_bytes(), "limits.csv", rules).expect("valid csv")
}

fn p(yuan: &str) -> Price {
    janus_core::parse_price(yuan).expect("a price")
}

/// Limit-up and limit-down of `symbol` on `date`, as text ("0.0000" when none).
fn limits(panel: &Panel, date: &str, symbol: &str) -> (String, String) {
    let day = panel.dates.iter().position(|d| d.to_string() == date).expect("date in panel");
    let i = panel.idx(day, panel.symbol_id(symbol).expect("symbol in panel"));
    (panel.limit_up[i].get().to_string(), panel.limit_down[i].get().to_string())
}

fn want(up: &str, down: &str) -> (String, String) {
    (p(up).to_string(), p(down).to_string())
}

#[test]
fn chinext_limits_go_from_ten_to_twenty_percent_on_2020_08_24() {
    let rows = "2020-08-20,300001.SZ,10.00,10.00,10.00,10.00,1000,0\n\
                2020-08-21,300001.SZ,10.00,10.00,10.00,10.00,1000,0\n\
                2020-08-24,300001.SZ,10.00,10.00,10.00,10.00,1000,0\n";
    let p = panel(rows, &LimitRules::default());
    assert_eq!(limits(&p, "2020-08-20", "300001.SZ"), want("0", "0"), "the first bar has no previous close");
    assert_eq!(limits(&p, "2020-08-21", "300001.SZ"), want("11.00", "9.00"));
    assert_eq!(limits(&p, "2020-08-24", "300001.SZ"), want("12.00", "8.00"));
    // An explicit value wins on every date.
    let flat = panel(rows, &LimitRules { chinext_bps: Some(2000), ..LimitRules::default() });
    assert_eq!(limits(&flat, "2020-08-21", "300001.SZ"), want("12.00", "8.00"));
}

#[test]
fn main_board_st_names_have_five_percent_until_2026_07_06() {
    let rows = "2026-07-02,600001.SH,10.00,10.00,10.00,10.00,1000,1\n\
                2026-07-03,600001.SH,10.00,10.00,10.00,10.00,1000,1\n\
                2026-07-06,600001.SH,10.00,10.00,10.00,10.00,1000,1\n";
    let p = panel(rows, &LimitRules::default());
    assert_eq!(limits(&p, "2026-07-03", "600001.SH"), want("10.50", "9.50"));
    assert_eq!(limits(&p, "2026-07-06", "600001.SH"), want("11.00", "9.00"));
}

#[test]
fn a_star_listing_trades_five_days_without_limits_then_at_twenty_percent() {
    // 600000.SH is there from the first date: the data starts with it already listed. The STAR
    // code's first bar comes later: that is its listing day.
    let mut rows = String::new();
    let dates = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"];
    for (k, date) in dates.iter().enumerate() {
        rows += &format!("{date},600000.SH,10.00,10.00,10.00,10.00,1000,0\n");
        if k >= 1 {
            rows += &format!("{date},688999.SH,30.00,30.00,30.00,30.00,1000,0\n");
        }
    }
    let p = panel(&rows, &LimitRules::default());
    for date in &dates[1..6] {
        assert_eq!(limits(&p, date, "688999.SH"), want("0", "0"), "{date} is one of the five free days");
    }
    assert_eq!(limits(&p, "2024-01-10", "688999.SH"), want("36.00", "24.00"), "the sixth day is limited");
    assert_eq!(limits(&p, "2024-01-03", "600000.SH"), want("11.00", "9.00"));
    let sid = p.symbol_id("688999.SH").unwrap();
    let listed = NaiveDate::from_ymd_opt(2024, 1, 3).unwrap();
    assert_eq!(p.listing(6, sid), Listing::New { listed, day: 5 });
    assert_eq!(p.listing(0, sid), Listing::Seasoned, "not listed yet on day 0");
    assert_eq!(p.listing(3, p.symbol_id("600000.SH").unwrap()), Listing::Seasoned);
}

#[test]
fn an_older_main_board_listing_has_first_day_bounds_around_its_open_then_ten_percent() {
    let rows = "2022-06-01,600000.SH,10.00,10.00,10.00,10.00,1000,0\n\
                2022-06-02,600000.SH,10.00,10.00,10.00,10.00,1000,0\n\
                2022-06-02,601999.SH,12.00,17.00,11.00,16.00,1000,0\n\
                2022-06-06,600000.SH,10.00,10.00,10.00,10.00,1000,0\n\
                2022-06-06,601999.SH,17.00,17.60,16.50,17.60,1000,0\n";
    let p = panel(rows, &LimitRules::default());
    assert_eq!(limits(&p, "2022-06-02", "601999.SH"), want("17.28", "7.68"), "144% and 64% of the open 12.00");
    assert_eq!(limits(&p, "2022-06-06", "601999.SH"), want("17.60", "14.40"));
}

#[test]
fn a_main_board_listing_from_2023_04_10_trades_five_days_without_limits() {
    let rows = "2023-04-07,600000.SH,10.00,10.00,10.00,10.00,1000,0\n\
                2023-04-10,600000.SH,10.00,10.00,10.00,10.00,1000,0\n\
                2023-04-10,601288.SH,12.00,19.00,11.00,18.00,1000,0\n\
                2023-04-11,600000.SH,10.00,10.00,10.00,10.00,1000,0\n\
                2023-04-11,601288.SH,18.00,26.00,17.00,25.00,1000,0\n";
    let p = panel(rows, &LimitRules::default());
    assert_eq!(limits(&p, "2023-04-10", "601288.SH"), want("0", "0"));
    assert_eq!(limits(&p, "2023-04-11", "601288.SH"), want("0", "0"));
}

#[test]
fn explicit_limits_in_the_data_win_over_the_calendar() {
    let csv = "date,symbol,open,high,low,close,volume,limit_up,limit_down\n\
               2024-01-02,688001.SH,10.00,10.00,10.00,10.00,1000,,\n\
               2024-01-03,688001.SH,10.00,10.00,10.00,10.00,1000,10.50,9.50\n\
               2024-01-04,688001.SH,10.00,10.00,10.00,10.00,1000,,\n";
    let p = load_csv_reader(csv.as_bytes(), "explicit.csv", &LimitRules::default()).unwrap();
    assert_eq!(limits(&p, "2024-01-03", "688001.SH"), want("10.50", "9.50"));
    assert_eq!(limits(&p, "2024-01-04", "688001.SH"), want("12.00", "8.00"));
}
