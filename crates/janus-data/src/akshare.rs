//! The akshare preset (`[data] format = "akshare"`): `stock_zh_a_hist` output saved as CSV,
//! with its Chinese headers.
//!
//! | akshare column | Janus field | conversion |
//! |---|---|---|
//! | `股票代码` | symbol | a bare code gets its exchange: `6`/`9` `.SH` (`92` `.BJ`), `0`/`2`/`3` `.SZ`, `4`/`8` `.BJ` |
//! | `日期` | date | `YYYY-MM-DD` |
//! | `开盘,最高,最低,收盘` | open, high, low, close | none (CNY; ask for `adjust=""`, raw prices) |
//! | `成交量` | volume | lots of 100 shares: x 100 |
//! | `成交额` | amount | none (CNY) |
//! | `复权因子` or `adj_factor` | adjustment factor | none |
//!
//! Each call returns one symbol, oldest first; files concatenated symbol by symbol are sorted
//! here. Other columns (`振幅`, `涨跌幅`, `涨跌额`, `换手率`) are ignored.

use crate::loader::CsvPreset;
use crate::rows::Order;

pub const AKSHARE: CsvPreset = CsvPreset {
    name: "akshare",
    date: &["日期"],
    symbol: &["股票代码"],
    open: &["开盘"],
    high: &["最高"],
    low: &["最低"],
    close: &["收盘"],
    volume: &["成交量"],
    amount: &["成交额"],
    vwap: &[],
    limit_up: &["涨停价", "limit_up"],
    limit_down: &["跌停价", "limit_down"],
    paused: &[],
    is_st: &[],
    adj_factor: &["复权因子", "adj_factor"],
    volume_scale: 100.0,
    amount_scale: 1.0,
    order: Order::Sort,
    suffix_codes: true,
};

#[cfg(test)]
mod tests {
    use crate::loader::{read_csv, suffix_code, CsvOptions};
    use janus_core::{LimitRules, Price};

    fn load(text: &str) -> Result<crate::Panel, crate::DataError> {
        let opts = CsvOptions { preset: &super::AKSHARE, ..CsvOptions::default() };
        read_csv(text.as_bytes(), "hist.csv", &opts, &LimitRules::default())
    }

    const HIST: &str = "\
日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率
2024-01-02,000001,9.39,9.21,9.42,9.21,1158366,1075742252.45,2.24,-1.92,-0.18,0.60
2024-01-03,000001,9.19,9.22,9.22,9.15,733610,673673613.69,0.76,0.11,0.01,0.38
2024-01-02,600000,6.59,6.60,6.62,6.56,263620,173744329.00,0.91,0.30,0.02,0.09
";

    #[test]
    fn akshare_chinese_headers_are_read_with_lots_converted_and_codes_suffixed() {
        let p = load(HIST).unwrap();
        assert_eq!(p.symbols, ["000001.SZ", "600000.SH"]);
        let i = p.idx(0, 0);
        assert_eq!(
            (p.open[i].get(), p.close[i].get(), p.high[i].get(), p.low[i].get()),
            (Price::from_yuan(9.39), Price::from_yuan(9.21), Price::from_yuan(9.42), Price::from_yuan(9.21))
        );
        assert_eq!(p.volume[i], 115_836_600.0, "lots of 100 shares");
        assert_eq!(p.amount[i], 1_075_742_252.45, "CNY as is");
        assert!(p.adj_factor.is_empty(), "no factor column, no adjustment");
    }

    /// (code, Janus code).
    #[test]
    fn bare_codes_get_their_exchange() {
        let cases = [
            ("600000", Some("600000.SH")),
            ("688981", Some("688981.SH")),
            ("900901", Some("900901.SH")),
            ("000001", Some("000001.SZ")),
            ("300750", Some("300750.SZ")),
            ("200002", Some("200002.SZ")),
            ("830799", Some("830799.BJ")),
            ("430047", Some("430047.BJ")),
            ("920001", Some("920001.BJ")),
            ("600000.SH", None),
            ("60000", None),
            ("1A0000", None),
        ];
        for (code, want) in cases {
            let mut out = [0u8; 9];
            let got = suffix_code(code.as_bytes(), &mut out).map(|b| String::from_utf8(b.to_vec()).unwrap());
            assert_eq!(got.as_deref(), want, "{code}");
        }
    }

    #[test]
    fn a_bad_akshare_row_names_the_chinese_column() {
        let text = "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额\n2024-01-02,000001,9.39,9.21,9.42,9.21,abc,1\n";
        let e = load(text).unwrap_err().to_string();
        assert!(e.contains("hist.csv: line 2") && e.contains("成交量") && e.contains("abc"), "{e}");
    }
}
