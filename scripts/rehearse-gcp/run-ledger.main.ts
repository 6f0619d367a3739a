/**
 * The dashboard's run-ledger observer as a process of its own on the HTTP transport: the part of
 * the dashboard that Eventarc's triggers on every topic feed. (The dashboard's own process hosts
 * the observer as a pull consumer and accepts no pushes, so the rehearsal runs this one instead.)
 */
import { createRunLedgerService, RunLedger, runServiceMain } from '@mlops/shared';

await runServiceMain('dashboard', (platform) => createRunLedgerService(new RunLedger(platform.documents)), process.env);
