/**
 * Hand-written bronze records of one run date with every dirty kind the generators emit (and a few
 * more), each named so a test can tell where it must end up.
 */
import type { BronzeRecord } from './bronze.fixtures.js';

export const RUN_DATE = '2026-01-05';
const HASH = 'a'.repeat(64);
const PHONE = 'b'.repeat(64);
/** A string that must never reach gold or a page unescaped. */
export const HOSTILE = '"><script>alert(1)</script>';

/** A key as staging stores it: trimmed, and null when empty. */
export function storedKey(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = String(value).trim();
  return trimmed === '' ? null : trimmed;
}

/** A clean sales order of cus_0000001 on RUN_DATE at 10:00 (digests 'a'x64, 'b'x64), with overrides. */
export function order(id: string, overrides: BronzeRecord = {}): BronzeRecord {
  return {
    order_id: id,
    customer_id: 'cus_0000001',
    order_ts: '2026-01-05T10:00:00Z',
    run_date: RUN_DATE,
    customer_email_hash: HASH,
    customer_phone_hash: PHONE,
    customer_region: 'north',
    customer_segment: 'consumer',
    customer_signup_date: '2025-12-01',
    acquisition_channel: 'organic',
    product_id: 'prd_0001',
    product_name: 'Kettle',
    category: 'kitchen',
    quantity: 2,
    unit_price_usd: 10.5,
    discount_pct: 0,
    gross_amount_usd: 21,
    net_amount_usd: 21,
    payment_method: 'card',
    channel: 'web',
    status: 'completed',
    ...overrides,
  };
}

/** Sales orders: clean ones in every timestamp format, and one of each unrepairable kind. */
export const SALES: {
  clean: Record<string, { record: BronzeRecord; orderedAt: string }>;
  rejected: Record<string, { record: BronzeRecord; reason: string }>;
  duplicate: BronzeRecord;
  conflict: BronzeRecord;
} = {
  clean: {
    iso: { record: order('ord_0000000000000001'), orderedAt: '2026-01-05T10:00:00.000Z' },
    epochNumber: {
      record: order('ord_0000000000000002', { order_ts: Date.parse('2026-01-05T11:30:00Z') }),
      orderedAt: '2026-01-05T11:30:00.000Z',
    },
    epochString: {
      record: order('ord_0000000000000003', { order_ts: String(Date.parse('2026-01-05T12:00:00Z')) }),
      orderedAt: '2026-01-05T12:00:00.000Z',
    },
    dayFirst: {
      record: order('ord_0000000000000004', { order_ts: '05/01/2026 13:45' }),
      orderedAt: '2026-01-05T13:45:00.000Z',
    },
    noZone: {
      record: order('ord_0000000000000005', { order_ts: '2026-01-05T14:00:00' }),
      orderedAt: '2026-01-05T14:00:00.000Z',
    },
    offset: {
      record: order('ord_0000000000000006', { order_ts: '2026-01-05T17:00:00+02:00' }),
      orderedAt: '2026-01-05T15:00:00.000Z',
    },
    rawEmail: {
      record: order('ord_0000000000000007', { customer_email_hash: 'someone@example.com', customer_id: 'cus_0000002' }),
      orderedAt: '2026-01-05T10:00:00.000Z',
    },
  },
  rejected: {
    nullCustomer: { record: order('ord_0000000000000011', { customer_id: null }), reason: 'missing_customer_id' },
    nullTimestamp: { record: order('ord_0000000000000012', { order_ts: null }), reason: 'missing_order_ts' },
    nullQuantity: { record: order('ord_0000000000000013', { quantity: null }), reason: 'missing_amount' },
    nullNet: { record: order('ord_0000000000000014', { net_amount_usd: null }), reason: 'missing_amount' },
    nullProduct: { record: order('ord_0000000000000015', { product_id: null }), reason: 'missing_product_id' },
    negative: {
      record: order('ord_0000000000000016', { gross_amount_usd: -21, net_amount_usd: -21 }),
      reason: 'negative_amount',
    },
    garbageTimestamp: {
      record: order('ord_0000000000000017', { order_ts: 'yesterday' }),
      reason: 'unparseable_order_ts',
    },
    futureTimestamp: {
      record: order('ord_0000000000000018', { order_ts: '2026-01-07T09:00:00Z' }),
      reason: 'order_ts_after_run_date',
    },
    ancientTimestamp: {
      record: order('ord_0000000000000019', { order_ts: 1_767_600_000 }),
      reason: 'order_ts_out_of_range',
    },
    badStatus: { record: order('ord_0000000000000020', { status: 'lost' }), reason: 'invalid_status' },
    nullOrderId: { record: order('ord_0000000000000021', { order_id: null }), reason: 'missing_order_id' },
    // Keys that do not have their format: never repaired, never in gold.
    hostileCustomer: { record: order('ord_0000000000000022', { customer_id: HOSTILE }), reason: 'invalid_customer_id' },
    emptyCustomer: { record: order('ord_0000000000000023', { customer_id: '' }), reason: 'missing_customer_id' },
    blankCustomer: { record: order('ord_0000000000000024', { customer_id: '   ' }), reason: 'missing_customer_id' },
    prefixCustomer: {
      record: order('ord_0000000000000025', { customer_id: 'usr_0000001' }),
      reason: 'invalid_customer_id',
    },
    shortCustomer: {
      record: order('ord_0000000000000026', { customer_id: 'cus_12345' }),
      reason: 'invalid_customer_id',
    },
    // Cyrillic "с" (U+0441) in place of the Latin c.
    lookalikeCustomer: {
      record: order('ord_0000000000000027', { customer_id: '\u0441us_0000001' }),
      reason: 'invalid_customer_id',
    },
    fullwidthCustomer: {
      record: order('ord_0000000000000028', { customer_id: 'cus_\uff10\uff10\uff10\uff10\uff10\uff10\uff11' }),
      reason: 'invalid_customer_id',
    },
    zeroWidthCustomer: {
      record: order('ord_0000000000000029', { customer_id: 'cus_0000001\u200b' }),
      reason: 'invalid_customer_id',
    },
    injectedCustomer: {
      record: order('ord_000000000000002a', { customer_id: "cus_0000001' or '1'='1" }),
      reason: 'invalid_customer_id',
    },
    numericCustomer: { record: order('ord_000000000000002b', { customer_id: 1 }), reason: 'invalid_customer_id' },
    hostileOrder: { record: order('ord_<img src=x onerror=alert(1)>'), reason: 'invalid_order_id' },
    emptyOrder: { record: order(''), reason: 'missing_order_id' },
    uppercaseOrder: { record: order('ORD_0123456789ABCDEF'), reason: 'invalid_order_id' },
    longOrder: { record: order('ord_0123456789abcdef0'), reason: 'invalid_order_id' },
    shortOrder: { record: order('ord_0123456789abcde'), reason: 'invalid_order_id' },
    shortProduct: { record: order('ord_000000000000002c', { product_id: 'prd_42' }), reason: 'invalid_product_id' },
    hostileProduct: { record: order('ord_000000000000002d', { product_id: HOSTILE }), reason: 'invalid_product_id' },
  },
  duplicate: order('ord_0000000000000001'),
  // Another customer's order under a used id (sorts after the original, which therefore stays).
  conflict: order('ord_0000000000000001', { customer_id: 'cus_0000009', order_ts: '2026-01-05T18:00:00Z' }),
};

/** A clean page view of cus_0000001 on RUN_DATE at 10:00, with overrides. */
export function click(id: string, overrides: BronzeRecord = {}): BronzeRecord {
  return {
    event_id: id,
    session_id: 'ses_0000000000000001',
    anonymous_id: 'anon_000000000001',
    customer_id: 'cus_0000001',
    event_type: 'page_view',
    event_ts: '2026-01-05T10:00:00Z',
    run_date: RUN_DATE,
    page: '/home',
    product_id: null,
    search_query: null,
    device: 'desktop',
    referrer: 'google',
    duration_ms: 1200,
    ...overrides,
  };
}

/** Click events: clean ones in every timestamp format, and one of each unrepairable kind. */
export const CLICKS: {
  clean: Record<string, BronzeRecord>;
  rejected: Record<string, { record: BronzeRecord; reason: string }>;
  duplicate: BronzeRecord;
} = {
  clean: {
    iso: click('evt_0000000000000001'),
    epochNumber: click('evt_0000000000000002', {
      event_ts: Date.parse('2026-01-05T10:01:00Z'),
      event_type: 'product_view',
      product_id: 'prd_0001',
    }),
    dayFirst: click('evt_0000000000000003', {
      event_ts: '05/01/2026 10:02',
      event_type: 'add_to_cart',
      product_id: 'prd_0001',
    }),
    noZone: click('evt_0000000000000004', { event_ts: '2026-01-05T10:03:00', event_type: 'purchase' }),
    anonymous: click('evt_0000000000000005', {
      customer_id: null,
      session_id: 'ses_0000000000000002',
      anonymous_id: 'anon_000000000002',
    }),
    // Its session's other event has a malformed customer_id: that event alone is quarantined.
    sessionOfMisfit: click('evt_0000000000000031', {
      session_id: 'ses_0000000000000003',
      event_ts: '2026-01-05T11:00:00Z',
    }),
  },
  rejected: {
    nullSession: { record: click('evt_0000000000000011', { session_id: null }), reason: 'missing_session_id' },
    nullAnonymous: { record: click('evt_0000000000000012', { anonymous_id: null }), reason: 'missing_anonymous_id' },
    nullType: { record: click('evt_0000000000000013', { event_type: null }), reason: 'missing_event_type' },
    nullPage: { record: click('evt_0000000000000014', { page: null }), reason: 'missing_page' },
    negativeDuration: { record: click('evt_0000000000000015', { duration_ms: -5 }), reason: 'negative_duration_ms' },
    garbageTimestamp: {
      record: click('evt_0000000000000016', { event_ts: '31/31/2026 99:99' }),
      reason: 'unparseable_event_ts',
    },
    badType: { record: click('evt_0000000000000017', { event_type: 'teleport' }), reason: 'invalid_event_type' },
    hostileCustomer: { record: click('evt_0000000000000021', { customer_id: HOSTILE }), reason: 'invalid_customer_id' },
    prefixCustomer: {
      record: click('evt_0000000000000022', { customer_id: 'cust_0000001' }),
      reason: 'invalid_customer_id',
    },
    emptySession: { record: click('evt_0000000000000023', { session_id: '' }), reason: 'missing_session_id' },
    prefixSession: {
      record: click('evt_0000000000000024', { session_id: 'sess_0123456789abcdef' }),
      reason: 'invalid_session_id',
    },
    shortSession: { record: click('evt_0000000000000025', { session_id: 'ses_0123' }), reason: 'invalid_session_id' },
    // Cyrillic "е" (U+0435) in place of the Latin e.
    lookalikeSession: {
      record: click('evt_0000000000000026', { session_id: 'ses_0123456789abcd\u0435f' }),
      reason: 'invalid_session_id',
    },
    hostileSession: { record: click('evt_0000000000000027', { session_id: HOSTILE }), reason: 'invalid_session_id' },
    shortAnonymous: {
      record: click('evt_0000000000000028', { anonymous_id: 'anon_123' }),
      reason: 'invalid_anonymous_id',
    },
    fullwidthProduct: {
      record: click('evt_0000000000000029', {
        event_type: 'product_view',
        product_id: 'prd_\uff11\uff12\uff13\uff14',
      }),
      reason: 'invalid_product_id',
    },
    hostileEvent: { record: click('evt_<svg onload=alert(1)>'), reason: 'invalid_event_id' },
    uppercaseEvent: { record: click('EVT_0123456789ABCDEF'), reason: 'invalid_event_id' },
    // The other event of a session whose clean event is CLICKS.clean.sessionOfMisfit.
    misfitInSession: {
      record: click('evt_0000000000000032', {
        session_id: 'ses_0000000000000003',
        customer_id: 'cus_0000001<b>',
        event_ts: '2026-01-05T11:01:00Z',
      }),
      reason: 'invalid_customer_id',
    },
  },
  duplicate: click('evt_0000000000000001'),
};

function company(id: string, overrides: BronzeRecord = {}): BronzeRecord {
  return {
    company_id: id,
    name: 'Acme <script>alert(1)</script>',
    sector: 'fintech',
    country: 'DE',
    city: 'Berlin',
    founded_year: 2019,
    status: 'active',
    headcount: 40,
    total_funding_usd: 1_500_000,
    last_round: 'seed',
    last_round_date: '2024-03-01',
    updated_at: '2025-12-20T08:00:00Z',
    load_type: 'full',
    run_date: RUN_DATE,
    ...overrides,
  };
}

/** Startup companies of a full load: versions, duplicates and unrepairable rows. */
export const STARTUPS: {
  clean: Record<string, BronzeRecord>;
  rejected: Record<string, { record: BronzeRecord; reason: string }>;
} = {
  clean: {
    latest: company('stp_000001', { updated_at: '2026-01-02T08:00:00Z', headcount: 45 }),
    epochUpdated: company('stp_000002', { updated_at: Date.parse('2025-11-01T00:00:00Z') }),
  },
  rejected: {
    older: { record: company('stp_000001', { updated_at: '2025-12-20T08:00:00Z' }), reason: 'superseded_version' },
    sameVersion: {
      record: company('stp_000001', { updated_at: '2026-01-02T08:00:00Z', headcount: 45 }),
      reason: 'duplicate_company_version',
    },
    nullSector: { record: company('stp_000003', { sector: null }), reason: 'missing_sector' },
    nullHeadcount: { record: company('stp_000004', { headcount: null }), reason: 'missing_headcount' },
    negativeFunding: { record: company('stp_000005', { total_funding_usd: -1000 }), reason: 'negative_total_funding' },
    garbageUpdated: { record: company('stp_000006', { updated_at: 'soon' }), reason: 'unparseable_updated_at' },
    hostileCompany: { record: company(HOSTILE), reason: 'invalid_company_id' },
    emptyCompany: { record: company(''), reason: 'missing_company_id' },
    shortCompany: { record: company('stp_12345'), reason: 'invalid_company_id' },
    prefixCompany: { record: company('cmp_000007'), reason: 'invalid_company_id' },
    // Cyrillic "ѕ" (U+0455) in place of the Latin s.
    lookalikeCompany: { record: company('\u0455tp_000008'), reason: 'invalid_company_id' },
  },
};
