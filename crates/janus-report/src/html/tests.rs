//! Unit tests of the report page: escaping, an empty run, money and drawdown wording in
//! English, the complete Chinese table, and the A-share colours.

use super::*;
use crate::GaveBack;
use janus_core::Money;

#[test]
fn text_from_the_run_is_escaped() {
    assert_eq!(escape("<b>\"x\" & 'y'</b>"), "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
    let a = Analysis::new(&RunRecord::default(), Money(1_000_000_000), None, GaveBack::default());
    let html = report_html("<script>", &RunRecord::default(), &a).unwrap();
    assert!(html.contains("Janus run &lt;script&gt;") && !html.contains("<script>alert"));
}

#[test]
fn an_empty_run_still_renders_a_complete_page_with_every_chart() {
    let a = Analysis::new(&RunRecord::default(), Money(1_000_000_000), None, GaveBack::default());
    let html = report_html("empty", &RunRecord::default(), &a).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 8);
    assert!(html.contains("figs.length!==8"), "the checker expects every chart");
    assert!(html.contains("friction attribution not computed"), "the waterfall says why it is empty");
    assert!(html.contains("no trading day recorded") && html.contains("Benchmark: none"));
    assert!(!html.contains("NaN"));
}

/// A run with a drawdown that did not recover, a round trip that gave its gain back and a
/// sell stuck at limit-down: every section of the page has something to say.
fn busy_run() -> (RunRecord, Analysis) {
    use janus_core::{
        AccountSnapshot, ExecutionLog, Order, OrderId, OrderStatus, OrderType, PositionSnapshot, Price, RiskEvent,
        RiskReason, Side,
    };
    let d = |day| NaiveDate::from_ymd_opt(2024, 3, day).unwrap();
    let snap = |day, yuan: f64| AccountSnapshot {
        date: d(day),
        total_value: Money::from_yuan(yuan),
        cash: Money::from_yuan(yuan),
        frozen_cash: Money::ZERO,
        market_value: Money::ZERO,
        peak_value: Money::from_yuan(yuan),
        drawdown: 0.0,
    };
    let pos = |day, close| PositionSnapshot {
        date: d(day),
        symbol: "600000.SH".into(),
        amount: 1000,
        sellable: 1000,
        avg_price: Price::from_yuan(10.0),
        entry_price: Price::from_yuan(10.0),
        entry_date: d(4),
        high_since_entry: Price::from_yuan(13.0),
        last_price: Price::from_yuan(close),
        days_held: 1,
        market_value: Price::from_yuan(close).notional(1000),
        realized_pnl: Money::ZERO,
    };
    let mut buy = Order::new(OrderId(1), "600000.SH".into(), Side::Buy, OrderType::Market, 1000, d(4));
    (buy.status, buy.filled, buy.tag) = (OrderStatus::Filled, 1000, "buy_rank".into());
    let mut sell = Order::new(OrderId(2), "600000.SH".into(), Side::Sell, OrderType::Market, 1000, d(6));
    (sell.status, sell.filled, sell.tag) = (OrderStatus::Filled, 1000, "trailing_stop".into());
    let fill = |day, id, side, price| ExecutionLog {
        date: d(day),
        order_id: OrderId(id),
        symbol: "600000.SH".into(),
        side,
        price: Price::from_yuan(price),
        quantity: 1000,
        commission: Money::from_yuan(5.0),
        taxes: Money::ZERO,
        reference_price: Price::from_yuan(price),
        slippage: Money::ZERO,
    };
    let record = RunRecord {
        account_snapshots: vec![
            snap(4, 1_000_000.0),
            snap(5, 1_003_000.0),
            snap(6, 990_000.0),
            snap(7, 985_000.0),
            snap(8, 999_000.0),
        ],
        position_snapshots: vec![pos(4, 10.0), pos(5, 13.0), pos(6, 9.0)],
        orders: vec![buy, sell],
        risk_events: vec![RiskEvent {
            date: d(7),
            symbol: "600000.SH".into(),
            order_id: OrderId(2),
            side: Side::Sell,
            reason: RiskReason::MarketLimitDown,
            detail: String::new(),
        }],
        executions: vec![fill(5, 1, Side::Buy, 10.0), fill(8, 2, Side::Sell, 9.5)],
        corporate_actions: Vec::new(),
        last_day_index: Some(4),
    };
    let bench = crate::Benchmark {
        name: "index.csv".into(),
        dates: record.account_snapshots.iter().map(|s| s.date).collect(),
        returns: vec![0.01, -0.01, 0.0, 0.02, 0.0],
    };
    let a = Analysis::new(&record, Money::from_yuan(1_000_000.0), Some(&bench), GaveBack::default());
    (record, a)
}

#[test]
fn the_english_page_shows_money_grouped_and_the_drawdown_split() {
    let (record, a) = busy_run();
    let html = report_html("busy", &record, &a).unwrap();
    assert!(html.contains("Initial cash 1,000,000.00, final value 999,000.00."), "money is grouped");
    // Peak 1,003,000 on the 5th, trough 985,000 on the 7th, not back by the 8th.
    assert!(
        html.contains("from the peak of 2024-03-05 to the trough of 2024-03-07, 2 trading days down; not recovered by the end, 1 trading days after the trough."),
        "{html}"
    );
    assert!(html.contains("<td>Days from trough to recovery</td><td>not recovered</td>"), "{html}");
    assert!(html.contains("<html lang=\"en\">") && html.contains(".up{color:#1a7f37}.down{color:#c62828}"));
}

#[test]
fn the_chinese_page_translates_every_text_and_keeps_the_data_codes() {
    let (record, a) = busy_run();
    let _ = crate::i18n::missing::take();
    let zh = a.clone().with_style(Style { lang: Lang::Zh, ..Style::default() });
    let html = report_html("busy", &record, &zh).unwrap();
    let missing = crate::i18n::missing::take();
    assert!(missing.is_empty(), "untranslated: {missing:?}");
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("<title>Janus 回测报告：busy</title>"));
    for text in ["总收益率", "最大回撤", "卖不出的单", "盈利回吐", "净值与基准", "月度收益", "尚未收复", "代码"]
    {
        assert!(html.contains(text), "{text}");
    }
    for english in ["Total return", "Refused sells", "Monthly returns", "round trips were up", "not recovered"] {
        assert!(!html.contains(english), "{english} left in English");
    }
    assert!(html.contains("MARKET_LIMIT_DOWN") && html.contains("trailing_stop"), "codes stay as in the CSV files");
    // The default benchmark is named in Chinese too; a file keeps its name.
    assert!(html.contains("基准：index.csv"));
    let mut market = zh.clone();
    market.benchmark = market.benchmark.map(|(_, r)| (crate::benchmark::EQUAL_WEIGHT.to_string(), r));
    let html_market = report_html("busy", &record, &market).unwrap();
    assert!(html_market.contains("基准：全市场等权") && !html_market.contains("equal-weight"));
    // The same numbers as the English page.
    let en = report_html("busy", &record, &a).unwrap();
    assert_eq!(html.matches("1,000,000.00").count(), en.matches("1,000,000.00").count());
}

#[test]
fn the_a_share_convention_colours_gains_red_on_the_page_and_in_the_charts() {
    let (record, a) = busy_run();
    let red_up = a.clone().with_style(Style { colors: crate::Colors::RedUp, ..Style::default() });
    let html = report_html("busy", &record, &red_up).unwrap();
    assert!(html.contains(".up{color:#c62828}.down{color:#1a7f37}"), "gains red, losses green");
    // The drawdown area is drawn in the colour of losses: green here, red by default.
    let area = |page: &str| {
        let at = page.find("id=\"chart-drawdown\"").unwrap();
        page[at..at + page[at..].find("</figure>").unwrap()].to_string()
    };
    let default = report_html("busy", &record, &a).unwrap();
    assert!(area(&default).contains("#D62728") && !area(&default).contains("#2CA02C"));
    assert!(area(&html).contains("#2CA02C") && !area(&html).contains("#D62728"));
}
