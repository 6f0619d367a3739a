/**
 * When a challenger becomes champion. Pure, so the rule reads in one place. Every figure is of
 * the scored population (customers active at the snapshot) of the challenger's holdout:
 *
 * - no champion yet: the challenger must beat the logistic-regression baseline and chance (0.5);
 * - a champion: both are scored on the same rows and the challenger must beat it by more than the
 *   uncertainty of the difference — the lower end of the 95 % paired-bootstrap interval of the
 *   ROC AUC difference is above 0 — without a worse log loss, and with an expected calibration
 *   error at most `ECE_TOLERANCE` above the champion's;
 * - a challenger whose data ends before the champion's is never promoted (replaying an old event
 *   must not bring back an old model);
 * - a champion that cannot score the holdout (its features are not the table's any more) is
 *   judged like no champion, and the reason says so.
 */
import type { BootstrapInterval } from './bootstrap.js';

/** How much worse the challenger's calibration error may be than the champion's. */
export const ECE_TOLERANCE = 0.01;

/** One model's figures on the rows of the decision. */
export interface ModelEvidence {
  rocAuc: number;
  logLoss: number;
  ece: number;
}

/** The evidence of one decision. */
export interface PromotionInput {
  challengerVersion: string;
  /** The challenger's data cut-off. */
  challengerDataTo: string;
  challenger: ModelEvidence;
  baseline: ModelEvidence;
  champion?: {
    version: string;
    dataTo: string;
    /** The champion on the same rows, or undefined when it cannot score them. */
    onHoldout: ModelEvidence | undefined;
  };
  /** The ROC AUC difference (challenger − champion) with its interval, when the champion scored. */
  difference?: BootstrapInterval;
}

/** The outcome. */
export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

const fmt = (value: number) => value.toFixed(4);
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(4)}`;

/** Decide whether the challenger is promoted. */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { champion, challenger, baseline } = input;
  if (champion?.version === input.challengerVersion)
    return { promote: false, reason: `${input.challengerVersion} is already the champion` };
  if (champion && input.challengerDataTo < champion.dataTo) {
    return {
      promote: false,
      reason: `stale challenger: its data ends ${input.challengerDataTo}, before the champion's (${champion.dataTo})`,
    };
  }
  if (champion?.onHoldout && input.difference) {
    const against = champion.onHoldout;
    const { estimate, low, high, level } = input.difference;
    const interval = `ROC AUC ${fmt(challenger.rocAuc)} vs ${fmt(against.rocAuc)}, difference ${signed(estimate)} (${Math.round(level * 100)} % interval ${signed(low)} .. ${signed(high)})`;
    if (!(low > 0))
      return {
        promote: false,
        reason: `does not beat champion ${champion.version} by more than the uncertainty: ${interval}`,
      };
    if (challenger.logLoss > against.logLoss)
      return {
        promote: false,
        reason: `beats champion ${champion.version} (${interval}) but its log loss is worse: ${fmt(challenger.logLoss)} > ${fmt(against.logLoss)}`,
      };
    if (challenger.ece > against.ece + ECE_TOLERANCE)
      return {
        promote: false,
        reason: `beats champion ${champion.version} (${interval}) but is worse calibrated: ECE ${fmt(challenger.ece)} > ${fmt(against.ece)} + ${ECE_TOLERANCE}`,
      };
    return {
      promote: true,
      reason: `beats champion ${champion.version} on the same rows: ${interval}; log loss ${fmt(challenger.logLoss)} <= ${fmt(against.logLoss)}, ECE ${fmt(challenger.ece)}`,
    };
  }
  const prefix = champion ? `champion ${champion.version} cannot score the current features; ` : 'first model: ';
  if (challenger.rocAuc > baseline.rocAuc && challenger.rocAuc > 0.5)
    return {
      promote: true,
      reason: `${prefix}beats the baseline (${fmt(challenger.rocAuc)} > ${fmt(baseline.rocAuc)}) and chance`,
    };
  return {
    promote: false,
    reason: `${prefix}does not beat ${challenger.rocAuc > 0.5 ? `the baseline (${fmt(challenger.rocAuc)} <= ${fmt(baseline.rocAuc)})` : `chance (ROC AUC ${fmt(challenger.rocAuc)})`}`,
  };
}
