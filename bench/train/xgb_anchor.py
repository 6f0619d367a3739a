#!/usr/bin/python3
"""XGBoost anchor for bench/train: fit `tree_method=hist` on a matrix file written by matrix.ts.

Usage: /usr/bin/python3 bench/train/xgb_anchor.py MATRIX [--trees 200] [--depth 6] [--lr 0.1]
       [--max-bin 256] [--lambda 1] [--min-child-weight 1] [--gamma 0] [--threads 2]

Prints one JSON object: fit seconds (XGBClassifier.fit, which includes building the quantile
DMatrix, as our fit includes binning), the fit's CPU seconds (every thread), holdout ROC AUC, peak
RSS. When xgboost or scikit-learn is
not installed it prints {"skipped": reason} and exits 3, so the caller can report why.
"""
import argparse
import json
import resource
import sys
import time


def read_matrix(path):
    import numpy as np

    with open(path, "rb") as f:
        header_line = f.readline()
        header = json.loads(header_line)
        dtype = {"float32": "<f4", "float64": "<f8"}.get(header.get("dtype"))
        if header.get("format") != "mlops-matrix-v1" or dtype is None:
            raise ValueError(f"{path} is not a mlops-matrix-v1 float32/float64 matrix")
        n, m = header["nRows"], header["nFeatures"]
        body = f.read()
    width = np.dtype(dtype).itemsize
    values = np.frombuffer(body, dtype=dtype, count=n * m).reshape(n, m)
    labels = np.frombuffer(body, dtype=np.uint8, count=n, offset=n * m * width)
    split = np.frombuffer(body, dtype=np.uint8, count=n, offset=n * m * width + n)
    return header, values, labels, split


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("matrix")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--max-bin", type=int, default=256)
    parser.add_argument("--lambda", dest="reg_lambda", type=float, default=1.0)
    parser.add_argument("--min-child-weight", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    try:
        import numpy as np
        import xgboost
        from sklearn.metrics import roc_auc_score
    except ImportError as error:
        print(json.dumps({"skipped": f"{error}; install with: apt-get install -y python3-xgboost python3-sklearn"}))
        return 3

    _, values, labels, split = read_matrix(args.matrix)
    train, holdout = split == 0, split == 1
    x_train, y_train = np.ascontiguousarray(values[train]), labels[train].astype(np.float32)
    x_holdout, y_holdout = np.ascontiguousarray(values[holdout]), labels[holdout]
    model = xgboost.XGBClassifier(
        n_estimators=args.trees,
        max_depth=args.depth,
        learning_rate=args.lr,
        max_bin=args.max_bin,
        reg_lambda=args.reg_lambda,
        min_child_weight=args.min_child_weight,
        gamma=args.gamma,
        tree_method="hist",
        grow_policy="depthwise",
        n_jobs=args.threads,
        # Start from the prior log-odds, as our trainer does (XGBoost 1.x defaults to 0.5).
        base_score=float(y_train.mean()),
        objective="binary:logistic",
    )
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    auc = float(roc_auc_score(y_holdout, model.predict_proba(x_holdout)[:, 1]))
    print(
        json.dumps(
            {
                "library": "xgboost",
                "version": xgboost.__version__,
                "fitSeconds": fit_seconds,
                "cpuSeconds": cpu_seconds,
                "holdoutAuc": auc,
                "trainRows": int(train.sum()),
                "holdoutRows": int(holdout.sum()),
                "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
