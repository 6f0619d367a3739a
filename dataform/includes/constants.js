// Windows shared by the models. A change here changes which partitions a run rebuilds, so it is a
// full-refresh (backfill) event, not a routine edit.

// Point-in-time features of a snapshot read data that landed in the LOOKBACK_DAYS days up to and
// including the snapshot date; late duplicates are detected within the same window. So a run date r
// can change gold partitions r .. r + LOOKBACK_DAYS - 1 and no others (see run.affected_dates).
const LOOKBACK_DAYS = 90;

// A record's own timestamp must fall within this many days before its run date (and never after
// it); anything else is implausible (epoch seconds read as milliseconds, a typo in the year) and is
// quarantined.
const MAX_RECORD_AGE_DAYS = 7;

// Feature windows, in days, each ending on the snapshot date.
const FEATURE_WINDOWS = [7, 30, 90];

module.exports = { LOOKBACK_DAYS, MAX_RECORD_AGE_DAYS, FEATURE_WINDOWS };
