# Computes the scikit-learn reference values pasted into sklearn.reference.ts (run once with
# /usr/bin/python3 services/trainer/test/ml/sklearn-reference.py; scikit-learn 1.2.1, numpy 1.24.2).
# The ConvergenceWarning of newton-cg at tol=1e-12 is harmless: the coefficients agree to ~1e-9.
import json, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score, log_loss
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
rng = np.random.default_rng(7)
n = 40
y = (rng.random(n) < 0.4).astype(int)
p = np.clip(np.round(0.25 + 0.35 * y + rng.normal(0, 0.2, n), 1), 0.05, 0.95)  # ties by rounding
w = np.round(rng.uniform(0.5, 2.0, n), 2)
out = {
  "labels": y.tolist(), "probabilities": p.tolist(), "weights": w.tolist(),
  "rocAuc": roc_auc_score(y, p), "rocAucWeighted": roc_auc_score(y, p, sample_weight=w),
  "averagePrecision": average_precision_score(y, p), "averagePrecisionWeighted": average_precision_score(y, p, sample_weight=w),
  "logLoss": log_loss(y, p), "logLossWeighted": log_loss(y, p, sample_weight=w),
}
pt, pp = calibration_curve(y, p, n_bins=10, strategy="quantile")
out["calibrationObserved"] = pt.tolist(); out["calibrationPredicted"] = pp.tolist()
# continuous scores for calibration without ties
p2 = np.round(rng.uniform(0.01, 0.99, n), 4)
pt2, pp2 = calibration_curve(y, p2, n_bins=10, strategy="quantile")
out["probabilities2"] = p2.tolist(); out["calibration2Observed"] = pt2.tolist(); out["calibration2Predicted"] = pp2.tolist()
# logistic regression
m = 60
X = np.round(rng.normal(0, 1, (m, 3)) * [1, 3, 0.5] + [0, 10, -2], 3)
logit = 0.8 * X[:, 0] - 0.3 * (X[:, 1] - 10) + 1.5 * (X[:, 2] + 2)
yl = (rng.random(m) < 1 / (1 + np.exp(-logit))).astype(int)
Xs = StandardScaler().fit_transform(X)
lr = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-12, max_iter=10000).fit(Xs, yl)
out["logreg"] = {"X": X.tolist(), "y": yl.tolist(), "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]),
  "proba0": float(lr.predict_proba(Xs[:1])[0, 1])}
lr2 = LogisticRegression(C=0.1, solver="newton-cg", tol=1e-12, max_iter=10000).fit(Xs, yl)
out["logreg"]["coefC01"] = lr2.coef_[0].tolist(); out["logreg"]["interceptC01"] = float(lr2.intercept_[0])
print(json.dumps(out))
