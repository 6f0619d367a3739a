#!/usr/bin/python3
"""XGBoost on the churn model's own training rows, judged on its holdout whole and on the active slice.

Usage: /usr/bin/python3 bench/model/xgb_slices.py MATRIX --horizon 30 [--trees N] [--depth D] [--lr L]
       [--max-bin 256] [--lambda 1] [--min-child-weight 1] [--threads 2]

MATRIX is a bench/train/matrix.ts file: split 0 = the trainer's train rows (active customers),
split 1 = every holdout row. Active = days_since_last_order <= horizon, read from the matrix's own
feature column. Prints one JSON object; exits 3 with {"skipped": reason} when xgboost or
scikit-learn is missing.
"""
import argparse
import json
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("matrix")
    parser.add_argument("--horizon", type=int, required=True)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--max-bin", type=int, default=256)
    parser.add_argument("--lambda", dest="reg_lambda", type=float, default=1.0)
    parser.add_argument("--min-child-weight", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    try:
        import numpy as np
        import xgboost
        from sklearn.metrics import roc_auc_score
    except ImportError as error:
        print(json.dumps({"skipped": f"{error}; install with: apt-get install -y python3-xgboost python3-sklearn"}))
        return 3

    sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/train")
    from xgb_anchor import read_matrix

    header, values, labels, split = read_matrix(args.matrix)
    recency = header["featureNames"].index("days_since_last_order")
    train, holdout = split == 0, split == 1
    active = values[:, recency] <= args.horizon
    y_train = labels[train].astype(np.float32)
    model = xgboost.XGBClassifier(
        n_estimators=args.trees,
        max_depth=args.depth,
        learning_rate=args.lr,
        max_bin=args.max_bin,
        reg_lambda=args.reg_lambda,
        min_child_weight=args.min_child_weight,
        tree_method="hist",
        grow_policy="depthwise",
        n_jobs=args.threads,
        base_score=float(y_train.mean()),
        objective="binary:logistic",
    )
    started = time.perf_counter()
    model.fit(np.ascontiguousarray(values[train]), y_train)
    fit_seconds = time.perf_counter() - started
    p = model.predict_proba(np.ascontiguousarray(values[holdout]))[:, 1]
    y = labels[holdout]
    a = active[holdout]
    print(
        json.dumps(
            {
                "library": "xgboost",
                "version": xgboost.__version__,
                "fitSeconds": fit_seconds,
                "all": float(roc_auc_score(y, p)),
                "active": float(roc_auc_score(y[a], p[a])),
                "trainRows": int(train.sum()),
                "holdoutRows": int(holdout.sum()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
