// Parsing of the raw STRING values bronze carries. Each helper returns a BigQuery expression that
// yields null (never an error) when the value cannot be read, so staging can quarantine the row.

// A timestamp in any format the generators emit, as a UTC TIMESTAMP:
// - ISO-8601 with a zone ("2026-01-31T10:05:00.123Z", "...+02:00"), or without one (read as UTC);
// - "DD/MM/YYYY HH:mm" (UTC);
// - epoch milliseconds, written as a number or a string ("1769853900000", "1769853900000.0").
function timestamp(column) {
  return `coalesce(
      safe_cast(${column} as timestamp),
      safe.parse_timestamp('%d/%m/%Y %H:%M', ${column}),
      if(regexp_contains(${column}, r'^-?[0-9]{1,16}([.]0+)?$'), timestamp_millis(cast(safe_cast(${column} as float64) as int64)), null)
    )`;
}

// A calendar date "YYYY-MM-DD", or the UTC date of any timestamp format above.
function date(column) {
  return `coalesce(safe_cast(${column} as date), date(${timestamp(column)}))`;
}

// Numbers are read through FLOAT64, which holds every integer below 2^53 and every amount of up to
// 15 significant digits exactly, and is the same on both engines (a string cast straight to
// NUMERIC is orders of magnitude slower on DuckDB, see dataform/README.md).

// A whole number, also when written as "3.0" (Parquet doubles read as text); null for 3.5.
function integer(column) {
  const value = `safe_cast(${column} as float64)`;
  return `if(${value} = trunc(${value}) and abs(${value}) < 9007199254740992, cast(${value} as int64), null)`;
}

// A decimal amount as NUMERIC, so sums are exact and do not depend on the order of addition.
function amount(column) {
  return `cast(safe_cast(${column} as float64) as numeric)`;
}

// A lowercase hex SHA-256 digest, or null. PII arrives only as HMAC digests; anything else (a raw
// e-mail address, a truncated digest) is dropped, never stored.
function sha256(column) {
  return `if(regexp_contains(lower(${column}), r'^[0-9a-f]{64}$'), lower(${column}), null)`;
}

// A value of an enumeration, lowercased; null when it is not one of the allowed values.
function one_of(column, values) {
  return `if(lower(${column}) in (${values.map((value) => `'${value}'`).join(', ')}), lower(${column}), null)`;
}

module.exports = { timestamp, date, integer, amount, sha256, one_of };
