// The formats of the keys bronze records carry, the same patterns as schemas/records/*.json (a test
// compares them). A key that does not fit is not repaired (recased, stripped or cut to length): the
// repair could name someone else's record, so the record is quarantined as invalid_<key>.
const FORMATS = {
  order_id: '^ord_[0-9a-f]{16}$',
  customer_id: '^cus_[0-9]{6,}$',
  product_id: '^prd_[0-9]{4}$',
  event_id: '^evt_[0-9a-f]{16}$',
  session_id: '^ses_[0-9a-f]{16}$',
  anonymous_id: '^anon_[0-9a-f]{12}$',
  company_id: '^stp_[0-9]{6,}$',
};

function pattern(key) {
  const found = FORMATS[key];
  if (!found) throw new Error(`no format for key "${key}"`);
  return found;
}

// True when the value has the key's format, false when it does not, null when it is null. The
// character classes are ASCII ranges on both engines (RE2), so look-alike letters and full-width
// digits do not match; the anchors cover the whole value (raw_columns has trimmed its whitespace).
function fits(column, key = column) {
  return `regexp_contains(${column}, r'${pattern(key)}')`;
}

// `when <column> is null then 'missing_<key>' when not (fits) then 'invalid_<key>'`: the two
// branches of a staging model's reject_reason for a required key.
function required(column, key = column) {
  return `when ${column} is null then 'missing_${key}'
      when not ${fits(column, key)} then 'invalid_${key}'`;
}

// `when <column> is not null and not (fits) then 'invalid_<key>'`: for a key that may be null (an
// anonymous visitor's customer_id).
function optional(column, key = column) {
  return `when ${column} is not null and not ${fits(column, key)} then 'invalid_${key}'`;
}

module.exports = { FORMATS, pattern, fits, required, optional };
