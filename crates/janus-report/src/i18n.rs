//! The report's languages: English (the default) and Chinese, with the one translation table.
//!
//! Every label, heading, chart title and sentence the report, the comparison and the friction
//! section show is written in English in the code and passed through [`Lang::t`] (a label) or
//! [`Lang::fill`] (a sentence with `{0}`, `{1}`, ... holes). English returns the text as is, so
//! the English report is exactly what the code says; Chinese looks the English text up in
//! `zh`, the only place translations live. A text missing from the table shows in English
//! rather than not at all, and the unit tests render whole Chinese pages and fail on any
//! text that was looked up and not found.
//!
//! Codes that are data (reason codes such as `T_PLUS_1`, exit kinds, symbols, dates, CSV file
//! names) are not translated: they are what the CSV files say.

use serde::{Deserialize, Serialize};
use std::fmt::Display;

/// Language of the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English, the default.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// Parse `en` or `zh`, as the config and the `--lang` flag spell them.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The `lang` attribute of an HTML page in this language.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// `english` in this language (English text when the table has no translation).
    pub fn t(self, english: &str) -> &str {
        match self {
            Lang::En => english,
            Lang::Zh => zh(english).unwrap_or_else(|| {
                missing::note(english);
                english
            }),
        }
    }

    /// The sentence `template` (English, with holes `{0}`, `{1}`, ...) in this language, with
    /// `args` in its holes.
    pub fn fill(self, template: &str, args: &[&dyn Display]) -> String {
        let text = self.t(template);
        let mut out = String::with_capacity(text.len() + 16 * args.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let hole = after.find('}').and_then(|close| after[..close].parse::<usize>().ok().map(|i| (i, close)));
            match hole.and_then(|(i, close)| args.get(i).map(|a| (a, close))) {
                Some((arg, close)) => {
                    out.push_str(&arg.to_string());
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Texts looked up in Chinese and not found; recorded in unit tests only, so that a test
/// rendering a whole page can insist on a complete table.
#[cfg(test)]
pub(crate) mod missing {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static MISSING: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
    }

    pub fn note(english: &str) {
        MISSING.with(|m| m.borrow_mut().insert(english.to_string()));
    }

    /// The texts missed since the last call, emptied.
    pub fn take() -> BTreeSet<String> {
        MISSING.with(|m| std::mem::take(&mut *m.borrow_mut()))
    }
}

#[cfg(not(test))]
mod missing {
    pub fn note(_: &str) {}
}

/// The Chinese table, keyed by the English text. One arm per text; a duplicate arm is a
/// compile warning (unreachable pattern), which the lint gate turns into an error.
fn zh(english: &str) -> Option<&'static str> {
    Some(match english {
        // Page frame and navigation.
        "Janus report: {0}" => "Janus 回测报告：{0}",
        "Janus run {0}" => "Janus 回测 {0}",
        "{0} to {1}, {2} trading days" => "{0} 至 {1}，共 {2} 个交易日",
        "no trading day recorded" => "没有记录任何交易日",
        "{0}. Initial cash {1}, final value {2}. Benchmark: {3}." => "{0}。初始资金 {1}，期末总资产 {2}。基准：{3}。",
        "none" => "无",
        "equal-weight market" => "全市场等权",
        "charts" => "图表",
        "metrics" => "指标",
        "exits" => "退出方式",
        "gave it back" => "盈利回吐",
        "refused sells" => "卖不出的单",
        "round trips" => "交易回合",
        "Charts" => "图表",
        "Metrics" => "指标",
        "Exits" => "退出方式",
        "Gave it back" => "盈利回吐",
        "Refused sells" => "卖不出的单",
        "Round trips" => "交易回合",
        "n/a" => "无数据",

        // Metric groups and labels (the report's tables and cards, and the comparison).
        "Returns" => "收益",
        "Risk" => "风险",
        "Trades" => "交易",
        "Costs" => "成本",
        "Refusals" => "拒单",
        "Benchmark" => "基准",
        "Total return" => "总收益率",
        "Annualized return" => "年化收益率",
        "Final value" => "期末总资产",
        "Annualized volatility" => "年化波动率",
        "Sharpe" => "夏普比率",
        "Sortino" => "索提诺比率",
        "Max drawdown" => "最大回撤",
        "Days from peak to trough" => "回撤天数（高点至低点）",
        "Days from trough to recovery" => "修复天数（低点至收复）",
        "not recovered" => "尚未收复",
        "Calmar" => "卡玛比率",
        "Closed round trips" => "已平仓回合数",
        "Win rate" => "胜率",
        "Profit/loss ratio" => "盈亏比",
        "Expectancy (CNY)" => "每回合期望盈亏（元）",
        "Average trade return" => "平均每回合收益率",
        "Average holding days" => "平均持有天数",
        "Turnover (x per year)" => "年化换手率（倍）",
        "Fees and taxes (CNY)" => "费用与税（元）",
        "Commission (CNY)" => "佣金（元）",
        "Taxes (CNY)" => "税费（元）",
        "Pre-trade rejections" => "事前风控拒单",
        "Market refusals" => "市场拒绝成交",
        "Stuck sells" => "卖不出的单",
        "Stuck at the end" => "期末仍卖不出",
        "Average days stuck" => "平均卡住天数",
        "Cost of waiting (CNY)" => "等待的代价（元）",
        "Stuck at end, marked (CNY)" => "期末卡住部分按收盘计（元）",
        "Benchmark total return" => "基准总收益率",
        "Excess return" => "超额收益率",
        "Excess annualized return" => "年化超额收益率",
        "Alpha (annualized)" => "阿尔法（年化）",
        "Beta" => "贝塔",

        // Sections of the report.
        "Max drawdown from the peak of {0} to the trough of {1}, {2} trading days down; {3}." => {
            "最大回撤从 {0} 的高点到 {1} 的低点，下跌 {2} 个交易日；{3}。"
        }
        "recovered on {0}, {1} trading days after the trough" => "于 {0} 收复，距低点 {1} 个交易日",
        "not recovered by the end, {0} trading days after the trough" => "到回测结束仍未收复，距低点已 {0} 个交易日",
        "not recovered: the trough is the last day" => "尚未收复：最后一个交易日就是低点",
        "Round trips by the reason of their last sell (<i>end_of_run</i>: still held, marked at the last close). \
         MFE is the best close while held, giveback what the trip gave back from it." => {
            "按最后一笔卖出的原因分组的交易回合（<i>end_of_run</i>：回测结束时仍持有，按最后收盘价计）。\
             MFE 是持有期间最好的收盘浮盈，回吐是从那里回吐的部分。"
        }
        "{0} of {1} round trips were up at least {2} at a close and ended below {3}." => {
            "{1} 个交易回合中有 {0} 个曾在某日收盘浮盈至少 {2}，最终收益却低于 {3}。"
        }
        "{0} wanted sells were stuck ({1} refusals: limit-down, suspension, volume cap, T+1): {2} filled later \
         after {3} trading days on average, costing {4} CNY against the close when the sell was wanted; {5} \
         still stuck at the end, marked at {6} CNY. Positive cost = lost by waiting." => {
            "{0} 笔想卖的单被卡住（共被拒 {1} 次：跌停、停牌、成交量上限、T+1）：{2} 笔平均等待 {3} 个交易日后成交，\
             与想卖当日收盘价相比损失 {4} 元；{5} 笔到期末仍卖不出，按收盘价计 {6} 元。成本为正表示等待造成了损失。"
        }
        "{0} more in refused_sells.csv." => "另有 {0} 条见 refused_sells.csv。",
        "{0} more in trades.csv." => "另有 {0} 条见 trades.csv。",
        "All {0} round trips" => "全部 {0} 个交易回合",
        "still stuck" => "仍未卖出",

        // Table headers.
        "symbol" => "代码",
        "entry" => "买入日",
        "exit" => "卖出日",
        "entry price" => "买入价",
        "exit price" => "卖出价",
        "return" => "收益率",
        "days" => "天数",
        "MFE" => "最大浮盈",
        "MAE" => "最大浮亏",
        "giveback" => "回吐",
        "exit reason" => "退出原因",
        "kind" => "类别",
        "trips" => "回合数",
        "win rate" => "胜率",
        "avg return" => "平均收益率",
        "avg MFE" => "平均最大浮盈",
        "avg giveback" => "平均回吐",
        "avg days" => "平均天数",
        "total P&amp;L" => "总盈亏",
        "first refusal" => "首次拒绝原因",
        "episodes" => "次数",
        "wanted by" => "卖出理由",
        "reason" => "原因",
        "refusals" => "拒绝次数",
        "wanted on" => "想卖日期",
        "price then" => "当时价格",
        "shares" => "股数",
        "filled on" => "成交日",
        "fill price" => "成交价",
        "days stuck" => "卡住天数",
        "cost" => "代价",

        // Charts.
        "Equity against the benchmark (1 = initial cash)" => "净值与基准（初始资金 = 1）",
        "run" => "本回测",
        "benchmark: {0}" => "基准：{0}",
        "Drawdown from the running peak" => "自历史高点的回撤",
        "Monthly returns" => "月度收益",
        "Jan" => "1月",
        "Feb" => "2月",
        "Mar" => "3月",
        "Apr" => "4月",
        "May" => "5月",
        "Jun" => "6月",
        "Jul" => "7月",
        "Aug" => "8月",
        "Sep" => "9月",
        "Oct" => "10月",
        "Nov" => "11月",
        "Dec" => "12月",
        "Round trips: best (MFE) vs worst (MAE) close" => "交易回合：最好（MFE）与最差（MAE）收盘",
        "winners" => "盈利",
        "losers" => "亏损",
        "Trading days held per round trip" => "每个交易回合的持有交易日数",
        "days held" => "持有天数",
        "Refusals per month by reason" => "每月拒单（按原因）",
        "no refusal recorded" => "没有拒单记录",
        "no round trip" => "没有交易回合",
        "Stuck sells: cost of waiting vs days stuck" => "卖不出的单：等待的代价与卡住天数",
        "cost (CNY)" => "代价（元）",
        "no sell was refused" => "没有被拒绝的卖单",

        // The comparison of two runs.
        "Janus: {0} vs {1}" => "Janus：{0} 对比 {1}",
        "Janus: run A against run B" => "Janus：回测 A 对比回测 B",
        "A = <b>{0}</b>, B = <b>{1}</b>. Deltas are B minus A." => "A = <b>{0}</b>，B = <b>{1}</b>。差值为 B 减 A。",
        "Deltas are coloured by whether B is better or worse than A." => "差值按 B 比 A 更好或更差着色。",
        "Equity and drawdown" => "净值与回撤",
        "Equity (1 = initial cash)" => "净值（初始资金 = 1）",
        "Drawdown" => "回撤",
        "B − A" => "B − A",
        "B - A" => "B - A",
        "The two runs cover different periods: A {0}, B {1}. Differences mix strategy and market; compare runs \
         over the same dates." => {
            "两次回测的区间不同：A {0}，B {1}。差异中混有策略和行情的影响；请比较同一区间的回测。"
        }
        "{0} .. {1} ({2} trading days)" => "{0} 至 {1}（{2} 个交易日）",
        "warning: {0}" => "注意：{0}",
        "<b>warning</b>: {0}" => "<b>注意</b>：{0}",

        // The friction section (real run against its frictionless twins).
        "costs" => "交易成本",
        "price limits" => "涨跌停",
        "suspensions" => "停牌",
        "T+1" => "T+1",
        "volume cap" => "成交量上限",
        "real run" => "实际回测",
        "frictionless" => "无摩擦",
        "total return" => "总收益率",
        "Where the return went: real run to frictionless twin" => "收益去了哪里：从实际回测到无摩擦孪生回测",
        "friction attribution not computed for this run" => "本回测未计算摩擦归因",
        "Frictions" => "市场摩擦",
        "removed" => "去除的摩擦",
        "twin step" => "孪生差额",
        "twin return" => "孪生收益率",
        "paid" => "实际支付",
        "Why it fails live" => "为什么实盘会失败",
        "why it fails live" => "实盘为何失败",
        "The real run made {0}; the same strategy on the same bars without the market's frictions made {1}. Each \
         friction was removed on top of the ones before: <i>twin step</i> is the return it took, <i>paid</i> what it \
         demonstrably cost the real run (fees and slippage, or the cost of waiting of the sells it left stuck). \
         Where the two differ, the twin traded differently after the first order the friction changed." => {
            "实际回测收益率 {0}；同一策略在同样行情上去除市场摩擦后收益率 {1}。每种摩擦在去除前面几种的基础上再去除：\
             <i>孪生差额</i>是它拿走的收益，<i>实际支付</i>是它在实际回测中可以确认的成本（手续费和滑点，或卖不出去的\
             卖单等待的代价）。两者不同之处，是孪生回测在该摩擦改变的第一笔订单之后走了不同的交易路径。"
        }
        "The market refused or delayed {0} sells the model wanted; waiting cost {1} CNY (see <a \
         href=\"#refused-sells\">refused sells</a>). {2} winners gave their gains back (see <a \
         href=\"#gave-back\">gave it back</a>)." => {
            "市场拒绝或推迟了模型想要的 {0} 笔卖出；等待的代价为 {1} 元（见<a href=\"#refused-sells\">被拒卖单</a>）。\
             {2} 笔盈利交易把收益吐了回去（见<a href=\"#gave-back\">坐过山车</a>）。"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_the_text_itself_and_chinese_comes_from_the_table() {
        assert_eq!(Lang::En.t("Total return"), "Total return");
        assert_eq!(Lang::Zh.t("Total return"), "总收益率");
        assert_eq!(Lang::default(), Lang::En);
        let _ = missing::take();
        assert_eq!(Lang::Zh.t("not in the table"), "not in the table", "a missing text shows in English");
        assert!(missing::take().contains("not in the table"), "and is noted in tests");
    }

    #[test]
    fn holes_are_filled_by_number_in_either_order() {
        let en = Lang::En.fill(
            "{0} of {1} round trips were up at least {2} at a close and ended below {3}.",
            &[&3, &10, &"20%", &"0%"],
        );
        assert_eq!(en, "3 of 10 round trips were up at least 20% at a close and ended below 0%.");
        let zh = Lang::Zh.fill(
            "{0} of {1} round trips were up at least {2} at a close and ended below {3}.",
            &[&3, &10, &"20%", &"0%"],
        );
        assert!(zh.starts_with("10 个交易回合中有 3 个"), "{zh}");
        // Braces that are not holes are kept.
        assert_eq!(Lang::En.fill("{x} {0} {5} {", &[&"a"]), "{x} a {5} {");
    }

    #[test]
    fn language_names_parse_both_ways() {
        for lang in [Lang::En, Lang::Zh] {
            assert_eq!(Lang::parse(lang.as_str()), Some(lang));
        }
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::Zh.html_lang(), "zh-CN");
    }
}
