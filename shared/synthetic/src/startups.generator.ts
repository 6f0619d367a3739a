/**
 * The startup companies the platform tracks. Companies are listed on every day (numbered per
 * listing day, like customers) and tracked for ten years; each one follows its own timeline of
 * changes (funding rounds, headcount, status) drawn from a stream keyed by its number. The state of
 * any company on any date is therefore a function of (seed, scale, date): a full load at one date
 * and the weekly deltas at later dates agree, and a delta only changes companies that exist.
 */
import { dayNumber, dayStartMs, isoDate } from './calendar.js';
import { DIRTY_KINDS, DirtPlan, dirtyTimestamp } from './dirt.js';
import { Random, hashInts, hashString, weightedTable } from './prng.js';
import type { WorldOptions } from './customers.js';
import type { GeneratedRecord, RecordValue } from './sales.generator.js';

/** How a startups load is made: the full snapshot, or new and changed companies of the week. */
export type StartupLoadType = 'full' | 'delta';
/** Funding stage of a company. */
export type FundingRound =
  | 'bootstrapped'
  | 'pre_seed'
  | 'seed'
  | 'series_a'
  | 'series_b'
  | 'series_c'
  | 'series_d_plus';
/** Status of a company. */
export type CompanyStatus = 'active' | 'acquired' | 'closed' | 'ipo';

/** Size of the tracked universe. */
export const STARTUP_UNIVERSE = {
  /** Companies tracked at any date at scale 1 (the size of a full load). */
  companies: 1000,
  /** A company is tracked for this many days after it is listed. */
  trackedDays: 3650,
  /** Mean days between two changes of an active company. */
  meanDaysBetweenChanges: 120,
  /** A delta covers the changes of this many days up to and including its date. */
  deltaWindowDays: 7,
} as const;

/** The state of a company at a point of its timeline. */
export interface CompanyState {
  readonly status: CompanyStatus;
  readonly headcount: number;
  readonly totalFundingUsd: number;
  readonly lastRound: FundingRound;
  /** Day number of the last round, undefined when bootstrapped. */
  readonly lastRoundDay: number | undefined;
  /** Epoch millis of the change that produced this state (the row's `updated_at`). */
  readonly changedAtMs: number;
}

/** A tracked company: who it is and how it changes. */
export interface Company {
  readonly id: string;
  readonly number: number;
  readonly listingDay: number;
  readonly name: string;
  readonly sector: string;
  readonly country: string;
  readonly city: string;
  readonly foundedYear: number;
}

/**
 * Names that are valid records but hostile to whatever displays them (markup, script, quotes,
 * SQL, formulas, emoji, bidirectional overrides, control characters): the dashboard must escape them.
 */
export const HOSTILE_COMPANY_NAMES: readonly string[] = [
  '<img src=x onerror=alert(1)>',
  '<script>alert("startup")</script> Labs',
  'O\'Reilly & "Quoted" Ventures',
  "Robert'); DROP TABLE startups;--",
  '🚀 Rocket 🦄 Unicorn Ltd',
  'Zürich Straße Ünïcødé AG',
  '\u202eLabs desrever',
  'Tab\tand\nNewline Inc.',
  "{{constructor.constructor('alert(1)')()}}",
  '=HYPERLINK("http://evil.example","click me")',
];

const DAYS_1900_TO_1970 = 25567;
const TAG_LISTINGS = hashString('startups.listings');
const TAG_COMPANY = hashString('startups.company');
const TAG_TIMELINE = hashString('startups.timeline');
const TAG_LOAD = hashString('startups.load');
const TAG_HOSTILE = hashString('startups.hostile');

const PREFIXES = [
  'Nimbus',
  'Quanta',
  'Helio',
  'Verdant',
  'Lumen',
  'Arbor',
  'Kinetic',
  'Cobalt',
  'Solace',
  'Vanta',
  'Orbital',
  'Fathom',
  'Tessel',
  'Brisk',
  'Civic',
  'Plinth',
  'Ardent',
  'Mosaic',
  'Northwind',
  'Parallax',
  'Juno',
  'Sprout',
  'Ion',
  'Ferro',
];
const SECTORS: Record<string, readonly string[]> = {
  fintech: ['Pay', 'Ledger', 'Capital', 'Bank'],
  healthtech: ['Health', 'Care', 'Clinic'],
  edtech: ['Learning', 'Academy', 'Tutor'],
  climate: ['Energy', 'Carbon', 'Grid'],
  ai: ['AI', 'Minds', 'Neural'],
  ecommerce: ['Commerce', 'Shop', 'Market'],
  logistics: ['Logistics', 'Freight', 'Routes'],
  cybersecurity: ['Security', 'Shield', 'Vault'],
  biotech: ['Bio', 'Genomics', 'Therapeutics'],
  proptech: ['Homes', 'Spaces', 'Estates'],
  gaming: ['Games', 'Play', 'Studios'],
  foodtech: ['Foods', 'Kitchen', 'Harvest'],
  robotics: ['Robotics', 'Automata', 'Motion'],
  saas: ['Cloud', 'Systems', 'Works'],
};
const SECTOR_TABLE = weightedTable(
  Object.keys(SECTORS).map(
    (sector) => [sector, sector === 'ai' || sector === 'fintech' || sector === 'saas' ? 2 : 1] as const,
  ),
);
const PLACES: readonly (readonly [string, readonly string[], number])[] = [
  ['US', ['San Francisco', 'New York', 'Austin', 'Boston', 'Seattle'], 0.32],
  ['GB', ['London', 'Manchester', 'Cambridge'], 0.1],
  ['DE', ['Berlin', 'Munich', 'Hamburg'], 0.08],
  ['FR', ['Paris', 'Lyon'], 0.06],
  ['IN', ['Bengaluru', 'Mumbai', 'Delhi'], 0.08],
  ['CA', ['Toronto', 'Vancouver', 'Montréal'], 0.05],
  ['IL', ['Tel Aviv'], 0.04],
  ['SG', ['Singapore'], 0.04],
  ['SE', ['Stockholm'], 0.03],
  ['NL', ['Amsterdam'], 0.03],
  ['ES', ['Barcelona', 'Madrid'], 0.03],
  ['EE', ['Tallinn'], 0.02],
  ['BR', ['São Paulo'], 0.04],
  ['NG', ['Lagos'], 0.03],
  ['KE', ['Nairobi'], 0.02],
  ['JP', ['Tokyo'], 0.03],
];
const PLACE_TABLE = weightedTable(PLACES.map((place) => [place, place[2]] as const));
const LEGAL: Record<string, string> = {
  US: ' Inc.',
  GB: ' Ltd',
  DE: ' GmbH',
  FR: ' SAS',
  NL: ' B.V.',
  SE: ' AB',
  EE: ' OÜ',
  BR: ' Ltda',
  JP: ' K.K.',
};
const ROUNDS: readonly FundingRound[] = [
  'bootstrapped',
  'pre_seed',
  'seed',
  'series_a',
  'series_b',
  'series_c',
  'series_d_plus',
];
const ROUND_USD: Record<FundingRound, readonly [number, number]> = {
  bootstrapped: [0, 0],
  pre_seed: [100_000, 1_500_000],
  seed: [500_000, 4_000_000],
  series_a: [3_000_000, 20_000_000],
  series_b: [15_000_000, 60_000_000],
  series_c: [40_000_000, 150_000_000],
  series_d_plus: [80_000_000, 500_000_000],
};
const HOURS_MS = 3_600_000;

/** Companies listed on a day. */
export function listingsOn(world: WorldOptions, day: number): number {
  return Random.of(world.seed, TAG_LISTINGS, day).round(
    (STARTUP_UNIVERSE.companies * world.scale) / STARTUP_UNIVERSE.trackedDays,
  );
}

/** The company `index` listed on `listingDay`. */
export function companyAt(world: Pick<WorldOptions, 'seed'>, listingDay: number, index: number): Company {
  const number = (listingDay + DAYS_1900_TO_1970) * 10_000 + index;
  const random = Random.of(world.seed, TAG_COMPANY, number);
  const sector = random.weighted(SECTOR_TABLE);
  const [country, cities] = random.weighted(PLACE_TABLE);
  const hostile = hashInts(world.seed, TAG_HOSTILE, number) % 150 === 0;
  const base = `${random.pick(PREFIXES)}${random.chance(0.3) ? ' ' : ''}${random.pick(SECTORS[sector]!)}`;
  const listingYear = new Date(dayStartMs(listingDay)).getUTCFullYear();
  return {
    id: `stp_${String(number).padStart(6, '0')}`,
    number,
    listingDay,
    name: hostile
      ? HOSTILE_COMPANY_NAMES[hashInts(world.seed, number) % HOSTILE_COMPANY_NAMES.length]!
      : `${base}${random.chance(0.4) ? (LEGAL[country] ?? '') : ''}`,
    sector,
    country,
    city: random.pick(cities),
    foundedYear: Math.min(2100, Math.max(1990, listingYear - Math.floor(random.exponential(1.5)))),
  };
}

/**
 * Walk a company's timeline up to and including `day`: its first state when listed, then each change.
 * `onChange` sees every state with the day it took effect.
 */
export function companyStateOn(
  world: Pick<WorldOptions, 'seed'>,
  company: Company,
  day: number,
  onChange?: (state: CompanyState, changeDay: number) => void,
): CompanyState | undefined {
  if (day < company.listingDay) return undefined;
  const random = Random.of(world.seed, TAG_TIMELINE, company.number);
  const roundDraw = random.next();
  const lastRound: FundingRound = roundDraw < 0.25 ? 'bootstrapped' : roundDraw < 0.6 ? 'pre_seed' : 'seed';
  const [low, high] = ROUND_USD[lastRound];
  let state: CompanyState = {
    status: 'active',
    headcount:
      lastRound === 'bootstrapped'
        ? random.int(1, 15)
        : lastRound === 'pre_seed'
          ? random.int(2, 12)
          : random.int(5, 30),
    totalFundingUsd: Math.round((low + random.next() * (high - low)) / 1000) * 1000,
    lastRound,
    lastRoundDay: lastRound === 'bootstrapped' ? undefined : company.listingDay - random.int(0, 90),
    changedAtMs: dayStartMs(company.listingDay) + random.int(6 * HOURS_MS, 20 * HOURS_MS),
  };
  onChange?.(state, company.listingDay);
  const trackedUntil = company.listingDay + STARTUP_UNIVERSE.trackedDays;
  let next = company.listingDay + 7 + Math.floor(random.exponential(STARTUP_UNIVERSE.meanDaysBetweenChanges));
  while (next <= day && next < trackedUntil && state.status === 'active') {
    const changedAtMs = dayStartMs(next) + random.int(6 * HOURS_MS, 20 * HOURS_MS);
    const kind = random.next();
    const roundIndex = ROUNDS.indexOf(state.lastRound);
    if (kind < 0.35 && roundIndex < ROUNDS.length - 1) {
      const round = ROUNDS[roundIndex + 1]!;
      const [min, max] = ROUND_USD[round];
      state = {
        ...state,
        lastRound: round,
        lastRoundDay: next,
        totalFundingUsd: state.totalFundingUsd + Math.round((min + random.next() * (max - min)) / 1000) * 1000,
        headcount: Math.max(state.headcount + 1, Math.round(state.headcount * (1.3 + random.next() * 0.7))),
        changedAtMs,
      };
    } else if (kind < 0.95) {
      state = {
        ...state,
        headcount: Math.max(1, Math.round(state.headcount * Math.exp(0.18 * random.normal()))),
        changedAtMs,
      };
    } else {
      const exit = random.next();
      const late = roundIndex >= ROUNDS.indexOf('series_c');
      const status: CompanyStatus = late && exit < 0.25 ? 'ipo' : exit < 0.6 ? 'acquired' : 'closed';
      state = { ...state, status, changedAtMs };
    }
    onChange?.(state, next);
    next += 7 + Math.floor(random.exponential(STARTUP_UNIVERSE.meanDaysBetweenChanges));
  }
  return state;
}

/** The companies tracked on a day, in number order. */
export function* companiesTrackedOn(world: WorldOptions, day: number): Generator<Company> {
  for (let listingDay = day - STARTUP_UNIVERSE.trackedDays + 1; listingDay <= day; listingDay += 1) {
    const count = listingsOn(world, listingDay);
    for (let index = 0; index < count; index += 1) yield companyAt(world, listingDay, index);
  }
}

/** Options of {@link generateStartupCompanies}. */
export interface StartupGeneratorOptions extends WorldOptions {
  readonly date: string;
  readonly loadType: StartupLoadType;
  readonly dirtyShare: number;
}

/** Fields that a `null_required` company row may lose. */
export const STARTUP_NULLABLE_ON_PURPOSE = ['sector', 'country', 'headcount', 'status'] as const;

/**
 * Stream the rows of a startups load: the full snapshot of every tracked company as of the date,
 * or the delta of companies listed or changed in the seven days up to the date (their state as of
 * the date). Dirty kinds as for the other sources, on `updated_at`, `total_funding_usd` and a
 * required field.
 */
export function* generateStartupCompanies(options: StartupGeneratorOptions): Generator<GeneratedRecord> {
  const day = dayNumber(options.date);
  const dirt = new DirtPlan(
    options.dirtyShare,
    Random.of(options.seed, TAG_LOAD, day, options.loadType === 'full' ? 0 : 1),
    DIRTY_KINDS,
  );
  const windowStart = day - STARTUP_UNIVERSE.deltaWindowDays + 1;
  for (const company of companiesTrackedOn(options, day)) {
    let changedInWindow = false;
    const state = companyStateOn(options, company, day, (_state, changeDay) => {
      if (changeDay >= windowStart) changedInWindow = true;
    })!;
    if (options.loadType === 'delta' && !changedInWindow) continue;
    const kind = dirt.decide();
    const random = Random.of(options.seed, TAG_LOAD, company.number, day);
    const data: Record<string, RecordValue> = {
      company_id: company.id,
      name: company.name,
      sector: company.sector,
      country: company.country,
      city: company.city,
      founded_year: company.foundedYear,
      status: state.status,
      headcount: state.headcount,
      total_funding_usd: kind === 'negative_amount' ? -Math.max(1000, state.totalFundingUsd) : state.totalFundingUsd,
      last_round: state.lastRound,
      last_round_date: state.lastRoundDay === undefined ? null : isoDate(state.lastRoundDay),
      updated_at: dirtyTimestamp(state.changedAtMs, kind),
      load_type: options.loadType,
      run_date: options.date,
    };
    if (kind === 'null_required') data[random.pick(STARTUP_NULLABLE_ON_PURPOSE)] = null;
    if (kind === 'duplicate_id') {
      yield { id: company.id, data };
      yield { id: company.id, data: { ...data }, dirty: kind };
    } else yield kind ? { id: company.id, data, dirty: kind } : { id: company.id, data };
  }
}
