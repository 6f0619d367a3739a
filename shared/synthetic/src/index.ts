/**
 * The deterministic synthetic world shared by the generators: seeded randomness, the calendar and
 * its demand curve, the product catalogue, the customer population with its hidden churn, the
 * startups universe, dirty-record planning, pseudonymisation, the three record generators and the
 * bronze lake layout.
 */
export * from './prng.js';
export * from './calendar.js';
export * from './catalogue.js';
export * from './customers.js';
export * from './dirt.js';
export * from './pseudonymise.js';
export * from './sales.generator.js';
export * from './clickstream.generator.js';
export * from './startups.generator.js';
export * from './startup-schedule.js';
export * from './bronze-layout.js';
export * from './bronze-partition.js';
export * from './generation.js';
