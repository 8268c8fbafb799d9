#!/usr/bin/env bash
# The sell-model loop, end to end:
#   1. a baseline backtest with the rule sell model,
#   2. its training data (janus export-training),
#   3. a LightGBM sell model trained on it (train_sell_model.py),
#   4. the same backtest with that model as the sell model,
#   5. the two runs' metrics side by side.
#
# Environment: JANUS (the janus binary; default: `janus` on PATH), PYTHON (a Python with the
# packages of requirements.txt; default: python3), WORK (folder for runs, data and the model;
# default: ./work beside this script).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
JANUS="${JANUS:-janus}"
PYTHON="${PYTHON:-python3}"
WORK="${WORK:-$HERE/work}"
mkdir -p "$WORK"
# The configs sit next to the model they name (model paths are relative to the config file).
cp "$HERE/baseline.toml" "$HERE/with_model.toml" "$WORK/"

echo "== 1. baseline: rule sell model"
baseline="$("$JANUS" backtest --config "$WORK/baseline.toml" --out "$WORK/runs" --quiet)"
echo "$baseline"

echo "== 2. training data"
"$JANUS" export-training "$baseline" --config "$WORK/baseline.toml" --out "$WORK/data"

echo "== 3. train the sell model"
"$PYTHON" "$HERE/train_sell_model.py" --data "$WORK/data/training_sell.parquet" --out "$WORK/sell_model.txt"

echo "== 4. the same backtest with the trained sell model"
with_model="$("$JANUS" backtest --config "$WORK/with_model.toml" --out "$WORK/runs" --quiet)"
echo "$with_model"

echo "== 5. compare"
if "$JANUS" compare --help >/dev/null 2>&1; then
    "$JANUS" compare "$baseline" "$with_model" --out "$WORK/compare.html"
else
    "$PYTHON" - "$baseline/metrics.json" "$with_model/metrics.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{'metric':<24}{'baseline':>20}{'with model':>20}")
for k, v in a.items():
    if isinstance(v, (int, float, str)) and k != "run_id":
        print(f"{k:<24}{str(v):>20}{str(b.get(k, '')):>20}")
PY
fi
n_model_sells="$(grep -c ',sell_model' "$with_model/orders.csv" || true)"
echo "orders placed by the sell model: $n_model_sells"
