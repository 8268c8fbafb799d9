"""Train a LightGBM sell model on the training data `janus export-training` wrote.

    python train_sell_model.py --data training_sell.parquet --out sell_model.txt

Label: `sell_beats_exit`, 1 when selling at that day's close would have beaten the price the
round trip eventually exited at (closed round trips only). Features: every column Janus
computes for a position (the README's feature table); the model file keeps their names, which
is how Janus knows what to feed it.
"""

import argparse

import lightgbm as lgb
import pandas as pd

FEATURES = [
    "ret_since_entry", "drawdown_from_high", "days_held", "refused_before",
    "ret_1d", "ret_5d", "volatility_20d", "volume_spike", "dist_limit_up", "dist_limit_down", "amount", "ret_20d",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="training_sell.parquet (or .csv) from janus export-training")
    ap.add_argument("--out", required=True, help="where to write the LightGBM text model")
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()

    df = pd.read_parquet(args.data) if args.data.endswith(".parquet") else pd.read_csv(args.data)
    df = df[df["trip_closed"] == 1].dropna(subset=["sell_beats_exit"])
    if len(df) < 100:
        raise SystemExit(f"only {len(df)} labelled position-days: run a longer or larger baseline")
    y = df["sell_beats_exit"].astype(int)
    # Time split: the last 20% of dates are held out to report an honest accuracy.
    cut = df["date"].sort_values().iloc[int(len(df) * 0.8)]
    train, test = df["date"] < cut, df["date"] >= cut
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "max_depth": 5,
        "learning_rate": 0.05,
        "min_data_in_leaf": 40,
        "feature_fraction": 0.9,
        "verbose": -1,
        "seed": 7,
        "deterministic": True,
        "num_threads": 1,
    }
    booster = lgb.train(params, lgb.Dataset(df.loc[train, FEATURES], y[train]), num_boost_round=args.rounds)
    p = booster.predict(df.loc[test, FEATURES])
    acc = ((p > 0.5).astype(int) == y[test]).mean() if test.any() else float("nan")
    print(f"trained on {int(train.sum())} position-days, base rate {y[train].mean():.3f}; "
          f"held-out accuracy {acc:.3f} on {int(test.sum())}")
    booster.save_model(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
