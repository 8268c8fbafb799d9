//! The tushare preset (`[data] format = "tushare"`): the `daily` endpoint's CSV as users save
//! it, optionally merged with `adj_factor` and `stk_limit`.
//!
//! | tushare column | Janus field | conversion |
//! |---|---|---|
//! | `ts_code` | symbol | none (`600000.SH`) |
//! | `trade_date` | date | `YYYYMMDD` |
//! | `open,high,low,close` | prices | none (CNY, raw) |
//! | `vol` | volume | lots of 100 shares: x 100 |
//! | `amount` | amount | thousands of CNY: x 1000 |
//! | `up_limit,down_limit` | explicit limits | none (`stk_limit`) |
//! | `adj_factor` | adjustment factor | none |
//!
//! tushare returns each symbol's rows newest first; rows are sorted here, in any order.
//! Other columns (`pre_close`, `change`, `pct_chg`) are ignored.

use crate::loader::CsvPreset;
use crate::rows::Order;

pub const TUSHARE: CsvPreset = CsvPreset {
    name: "tushare",
    date: &["trade_date"],
    symbol: &["ts_code"],
    open: &["open"],
    high: &["high"],
    low: &["low"],
    close: &["close"],
    volume: &["vol"],
    amount: &["amount"],
    vwap: &[],
    limit_up: &["up_limit"],
    limit_down: &["down_limit"],
    paused: &[],
    is_st: &[],
    adj_factor: &["adj_factor"],
    volume_scale: 100.0,
    amount_scale: 1000.0,
    order: Order::Sort,
    suffix_codes: false,
};

#[cfg(test)]
mod tests {
    use crate::loader::{read_csv, CsvOptions};
    use crate::panel::flag;
    use janus_core::{LimitRules, Price};

    fn load(text: &str) -> Result<crate::Panel, crate::DataError> {
        let opts = CsvOptions { preset: &super::TUSHARE, ..CsvOptions::default() };
        read_csv(text.as_bytes(), "daily.csv", &opts, &LimitRules::default())
    }

    const DAILY: &str = "\
ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount,adj_factor,up_limit,down_limit
600000.SH,20240104,7.05,7.10,7.00,7.08,7.05,0.03,0.43,350000.5,247000.1,10.5,7.76,6.35
600000.SH,20240103,7.00,7.06,6.98,7.05,7.01,0.04,0.57,300000,211000,10.5,7.71,6.31
600000.SH,20240102,7.01,7.02,6.95,7.01,7.00,0.01,0.14,280000,196000,10.0,,
000001.SZ,20240103,9.30,9.40,9.20,9.35,9.28,0.07,0.75,1000,935,1.0,,
000001.SZ,20240102,9.28,9.30,9.25,9.28,9.30,-0.02,-0.22,0,0,1.0,,
";

    #[test]
    fn tushare_daily_rows_are_sorted_and_converted_to_shares_and_cny() {
        let p = load(DAILY).unwrap();
        assert_eq!(p.symbols, ["000001.SZ", "600000.SH"]);
        assert_eq!(
            p.dates.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ["2024-01-02", "2024-01-03", "2024-01-04"]
        );
        let i = p.idx(2, 1);
        assert_eq!(p.close[i].get(), Price::from_yuan(7.08));
        assert_eq!(p.volume[i], 35_000_050.0, "lots of 100 shares");
        assert_eq!(p.amount[i], 247_000_100.0, "thousands of CNY");
        assert_eq!((p.limit_up[i].get(), p.limit_down[i].get()), (Price::from_yuan(7.76), Price::from_yuan(6.35)));
        assert_ne!(p.flags[i] & flag::EXPLICIT_LIMITS, 0);
        assert_eq!(p.adj_factor[p.idx(0, 1)], 10.0);
        assert_eq!(p.adj_factor[i], 10.5);
        assert!(!p.is_present(2, 0), "000001.SZ has no bar on the last day");
        assert!(!p.is_tradable(0, 0), "volume 0 is a suspension");
    }

    /// (what, file, place, value the message must quote).
    #[test]
    fn bad_tushare_rows_name_the_file_line_and_value() {
        let h = "ts_code,trade_date,open,high,low,close,vol,amount";
        let cases = [
            (
                "duplicate bar",
                format!("{h}\n600000.SH,20240103,7,7,7,7,1,1\n600000.SH,20240103,7,7,7,7,1,1\n"),
                "line 3",
                "line 2",
            ),
            ("bad date", format!("{h}\n600000.SH,2024013,7,7,7,7,1,1\n"), "line 2", "2024013"),
            ("off-tick price", format!("{h}\n600000.SH,20240103,7.005,7.01,7,7,1,1\n"), "line 2", "7.005"),
            ("negative vol", format!("{h}\n600000.SH,20240103,7,7,7,7,-1,1\n"), "line 2", "`vol`"),
            ("missing vol column", "ts_code,trade_date,open,high,low,close\n".to_string(), "line 1", "`vol`"),
        ];
        for (what, text, at, value) in cases {
            let e = load(&text).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains("daily.csv") && e.contains(at) && e.contains(value), "{what}: {e}");
        }
    }
}
