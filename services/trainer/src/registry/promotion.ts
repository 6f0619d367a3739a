/**
 * When a challenger becomes champion. Pure, so the rule reads in one place:
 *
 * - no champion yet: the challenger must beat the logistic-regression baseline and chance (0.5)
 *   on its holdout;
 * - a champion: the champion is re-scored on the challenger's holdout (the same rows), and the
 *   challenger must beat it strictly; a challenger whose data ends before the champion's is never
 *   promoted (replaying an old event must not bring back an old model);
 * - a champion that cannot score the holdout (its features are not the table's any more) is
 *   judged like no champion, and the reason says so.
 */

/** The evidence of one decision. */
export interface PromotionInput {
  challengerVersion: string;
  challengerRocAuc: number;
  baselineRocAuc: number;
  /** The challenger's data cut-off. */
  challengerDataTo: string;
  champion?: {
    version: string;
    dataTo: string;
    /** The champion's ROC AUC on the challenger's holdout, or undefined when it cannot score it. */
    rocAucOnHoldout: number | undefined;
  };
}

/** The outcome. */
export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

const fmt = (auc: number) => auc.toFixed(4);

/** Decide whether the challenger is promoted. */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { champion, challengerRocAuc: auc, baselineRocAuc: baseline } = input;
  if (champion?.version === input.challengerVersion)
    return { promote: false, reason: `${input.challengerVersion} is already the champion` };
  if (champion && input.challengerDataTo < champion.dataTo) {
    return {
      promote: false,
      reason: `stale challenger: its data ends ${input.challengerDataTo}, before the champion's (${champion.dataTo})`,
    };
  }
  if (champion && champion.rocAucOnHoldout !== undefined) {
    const against = champion.rocAucOnHoldout;
    return auc > against
      ? {
          promote: true,
          reason: `beats champion ${champion.version} on the same holdout: ROC AUC ${fmt(auc)} > ${fmt(against)}`,
        }
      : {
          promote: false,
          reason: `does not beat champion ${champion.version} on the same holdout: ROC AUC ${fmt(auc)} <= ${fmt(against)}`,
        };
  }
  const prefix = champion ? `champion ${champion.version} cannot score the current features; ` : 'first model: ';
  if (auc > baseline && auc > 0.5)
    return { promote: true, reason: `${prefix}beats the baseline (${fmt(auc)} > ${fmt(baseline)}) and chance` };
  return {
    promote: false,
    reason: `${prefix}does not beat ${auc > 0.5 ? `the baseline (${fmt(auc)} <= ${fmt(baseline)})` : `chance (ROC AUC ${fmt(auc)})`}`,
  };
}
