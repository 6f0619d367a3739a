import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topics } from '@mlops/kernel';
import { beforeAll, describe, expect, it } from 'vitest';
import { literalStrings, loadInfra, nested, nestedAll, resources, type Infra } from './hcl.js';

const infraDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(infraDir, '..');

/** The seven stages and the dead-letter relay: each runs as its own Cloud Run service and account. */
const SERVICES = ['sales-gen', 'click-gen', 'startup-gen', 'lander', 'transformer', 'trainer', 'dashboard'];

/** Roles that exist only on the project; nothing else may be granted there. */
const PROJECT_ONLY_ROLES = new Set([
  'roles/datastore.user',
  'roles/datastore.viewer',
  'roles/bigquery.jobUser',
  'roles/aiplatform.user',
  'roles/eventarc.eventReceiver',
  'roles/logging.logWriter',
  'roles/monitoring.metricWriter',
]);

let infra: Infra;
beforeAll(async () => {
  infra = await loadInfra(infraDir);
});

function local<T>(name: string): T {
  if (!(name in infra.locals)) throw new Error(`infra/ defines no local.${name}`);
  return infra.locals[name] as T;
}

describe('infra/: identities', () => {
  it('gives every service its own account, running its own Cloud Run service', () => {
    const services = Object.keys(local<Record<string, unknown>>('services'));
    expect(services).toEqual(expect.arrayContaining(SERVICES));
    const accounts = resources(infra, 'google_service_account');
    expect(accounts.service?.for_each, 'one account per entry of local.services').toBe('${local.services}');
    expect(accounts.service?.account_id).toBe('mlops-${each.key}');
    const run = resources(infra, 'google_cloud_run_v2_service').service;
    expect(run?.for_each).toBe('${local.services}');
    expect(nested(run, 'template')?.service_account).toBe('${google_service_account.service[each.key].email}');
  });

  it('has one account each for the scheduler, Dataform, the Vertex AI steps and Eventarc, used for nothing else', () => {
    const accounts = resources(infra, 'google_service_account');
    const ids = Object.values(accounts).map((account) => account.account_id);
    expect(new Set(ids).size, 'account ids are distinct').toBe(ids.length);
    for (const name of ['scheduler', 'dataform', 'vertex_steps', 'eventarc'])
      expect(accounts[name], name).toBeDefined();
    const job = resources(infra, 'google_cloud_run_v2_job').scheduler;
    expect(nested(nested(job, 'template'), 'template')?.service_account).toBe(
      '${google_service_account.scheduler.email}',
    );
    expect(nested(resources(infra, 'google_cloud_scheduler_job').daily, 'http_target')).toBeDefined();
    expect(resources(infra, 'google_dataform_repository').mlops?.service_account).toBe(
      '${google_service_account.dataform.email}',
    );
    for (const trigger of Object.values(resources(infra, 'google_eventarc_trigger')))
      expect(trigger.service_account).toBe('${google_service_account.eventarc.email}');
    expect(infra.text).not.toMatch(/google_service_account\.runtime\b/);
  });
});

describe('infra/: least privilege', () => {
  it('grants on the project only roles that exist nowhere narrower, from the checked allow-list', () => {
    expect(resources(infra, 'google_project_iam_binding'), 'no authoritative project bindings').toEqual({});
    expect(resources(infra, 'google_project_iam_policy')).toEqual({});
    const allowList = local<string[]>('project_level_roles');
    for (const role of allowList) expect(PROJECT_ONLY_ROLES, `${role} is project-only`).toContain(role);
    for (const [name, grant] of Object.entries(resources(infra, 'google_project_iam_member'))) {
      if (grant.role === '${each.value.role}' && grant.for_each === '${local.project_grant_pairs}') {
        const precondition = nested(nested(grant, 'lifecycle'), 'precondition');
        expect(precondition?.condition, `${name} checks its role at plan time`).toBe(
          '${contains(local.project_level_roles, each.value.role)}',
        );
        continue;
      }
      const roles = String(grant.role).startsWith('${') ? literalStrings(grant.for_each) : [String(grant.role)];
      for (const role of roles) expect(allowList, `google_project_iam_member.${name} grants ${role}`).toContain(role);
    }
    for (const [account, roles] of Object.entries(local<Record<string, string[]>>('project_grants')))
      for (const role of roles) expect(allowList, `${account} holds ${role} on the project`).toContain(role);
  });

  it('gives the scheduler no Cloud Run role but invoker on its own job', () => {
    expect(infra.text).not.toContain('roles/run.developer');
    expect(infra.text).not.toContain('roles/run.admin');
    const onJob = Object.values(resources(infra, 'google_cloud_run_v2_job_iam_member'));
    expect(onJob).toEqual([
      expect.objectContaining({
        name: '${google_cloud_run_v2_job.scheduler.name}',
        role: 'roles/run.invoker',
        member: 'serviceAccount:${google_service_account.scheduler.email}',
      }),
    ]);
  });

  it('lets only sales-gen read the PII key, and only the Dataform agent read the git token', () => {
    const grants = Object.values(resources(infra, 'google_secret_manager_secret_iam_member'));
    expect(grants.map((grant) => [grant.secret_id, grant.role, grant.member]).sort()).toEqual(
      [
        [
          '${var.pii_hmac_key_secret}',
          'roles/secretmanager.secretAccessor',
          'serviceAccount:${google_service_account.service["sales-gen"].email}',
        ],
        ['${var.dataform_git_token_secret}', 'roles/secretmanager.secretAccessor', '${local.dataform_agent}'],
      ].sort(),
    );
    const env = nested(nested(resources(infra, 'google_cloud_run_v2_service').service, 'template'), 'containers');
    const secretEnv = nestedAll(nested(env, 'dynamic'), 'env').find((block) =>
      JSON.stringify(block).includes('MLOPS_PII_HMAC_KEY'),
    );
    expect(secretEnv?.for_each, 'the key is mounted in sales-gen only').toBe(
      '${each.key == "sales-gen" ? [var.pii_hmac_key_secret] : []}',
    );
  });

  it('lets the Dataform service agent mint tokens of the Dataform account only', () => {
    expect(String(local<string>('dataform_agent'))).toBe(
      'serviceAccount:service-${data.google_project.this.number}@gcp-sa-dataform.iam.gserviceaccount.com',
    );
    const byAgent = Object.values(resources(infra, 'google_service_account_iam_member')).filter(
      (grant) => grant.member === '${local.dataform_agent}',
    );
    expect(byAgent).toEqual([
      expect.objectContaining({
        service_account_id: '${google_service_account.dataform.name}',
        role: 'roles/iam.serviceAccountTokenCreator',
      }),
    ]);
  });

  it('lets the transformer act as the Dataform account and the trainer as the Vertex AI steps account, nothing more', () => {
    const actAs = Object.values(resources(infra, 'google_service_account_iam_member'))
      .filter((grant) => grant.role === 'roles/iam.serviceAccountUser')
      .map((grant) => [grant.member, grant.service_account_id])
      .sort();
    expect(actAs).toEqual(
      [
        [
          'serviceAccount:${google_service_account.service["trainer"].email}',
          '${google_service_account.vertex_steps.name}',
        ],
        [
          'serviceAccount:${google_service_account.service["transformer"].email}',
          '${google_service_account.dataform.name}',
        ],
      ].sort(),
    );
    const repository = Object.values(resources(infra, 'google_dataform_repository_iam_member'));
    expect(repository.map((grant) => [grant.repository, grant.role, grant.member])).toEqual([
      [
        '${google_dataform_repository.mlops.name}',
        'roles/dataform.editor',
        'serviceAccount:${google_service_account.service["transformer"].email}',
      ],
    ]);
  });

  it('gives the Vertex AI steps the lake under mlops/, the layers they read and write, and the registry', () => {
    const datasets = local<Record<string, { account: string; dataset: string; role: string }>>('dataset_grants');
    const steps = Object.values(datasets)
      .filter((grant) => grant.account === 'vertex-steps')
      .map((grant) => `${grant.dataset}:${grant.role}`)
      .sort();
    expect(steps).toEqual(['staging:roles/bigquery.dataViewer', 'warehouse:roles/bigquery.dataEditor']);
    expect(local<Record<string, { prefix: string }>>('lake_prefix_grants')['vertex-steps']).toEqual({
      role: 'roles/storage.objectAdmin',
      prefix: 'mlops/',
    });
    expect(local<Record<string, string[]>>('project_grants')['vertex-steps']?.sort()).toEqual([
      'roles/aiplatform.user',
      'roles/bigquery.jobUser',
      'roles/datastore.user',
    ]);
    // Only Dataform writes the medallion layers; only the steps write predictions into warehouse.
    for (const grant of Object.values(datasets))
      if (grant.role !== 'roles/bigquery.dataViewer') expect(['dataform', 'vertex-steps']).toContain(grant.account);
  });

  it('runs the pipeline jobs as the steps account: the trainer is given it, and may act as no one else', () => {
    const trainerEnv = local<Record<string, Record<string, string>>>('service_env').trainer;
    expect(trainerEnv?.MLOPS_SERVICE_ACCOUNT).toBe('${google_service_account.vertex_steps.email}');
    expect(trainerEnv?.VERTEX_PIPELINE_ROOT).toMatch(/^gs:\/\/\$\{var\.lake_bucket\}\/mlops\//);
    const actAs = Object.values(resources(infra, 'google_service_account_iam_member')).filter(
      (grant) => grant.member === 'serviceAccount:${google_service_account.service["trainer"].email}',
    );
    expect(actAs.map((grant) => [grant.service_account_id, grant.role])).toEqual([
      ['${google_service_account.vertex_steps.name}', 'roles/iam.serviceAccountUser'],
    ]);
  });

  it("lets Vertex AI's service agent read the registered models only, to copy them to the serving container", () => {
    const grant = resources(infra, 'google_storage_bucket_iam_member').vertex_agent_reads_models;
    expect(grant?.role).toBe('roles/storage.objectViewer');
    expect(String(grant?.member)).toMatch(/@gcp-sa-aiplatform\.iam\.gserviceaccount\.com$|local\.vertex_agent/);
    expect(String(nested(grant, 'condition')?.expression)).toContain('/objects/mlops/models/');
    const agents = local<Record<string, string>>('vertex_agent');
    expect(String(agents)).toContain('@gcp-sa-aiplatform.iam.gserviceaccount.com');
  });

  it('scopes every lake grant to an object prefix', () => {
    for (const [name, grant] of Object.entries(resources(infra, 'google_storage_bucket_iam_member'))) {
      const condition = nested(grant, 'condition');
      expect(String(condition?.expression), `${name} is conditioned on a prefix`).toMatch(
        /resource\.name\.startsWith\("projects\/_\/buckets\/\$\{var\.lake_bucket\}\/objects\//,
      );
    }
    expect(resources(infra, 'google_storage_bucket_iam_binding')).toEqual({});
  });

  it('binds publishers per topic: the stage topics a service emits, stage-failed and dead-letter', () => {
    const services = local<Record<string, { publishes: string[] }>>('services');
    expect(services.transformer?.publishes).toContain('warehouse-ready');
    expect(services.trainer?.publishes).toEqual(expect.arrayContaining(['model-trained', 'predictions-ready']));
    expect(services.dashboard?.publishes).toEqual([]);
    const publisher = resources(infra, 'google_pubsub_topic_iam_member').publisher;
    expect(publisher?.for_each).toBe('${local.publishers}');
    expect(publisher?.topic).toBe('${local.all_topics[each.value.topic]}');
    expect(infra.text).not.toMatch(/allUsers|allAuthenticatedUsers/);
  });
});

describe('infra/: who reaches what', () => {
  it('lets the viewers group invoke the dashboard, and Eventarc every service, and nobody else', () => {
    const invokers = Object.values(resources(infra, 'google_cloud_run_v2_service_iam_member'));
    expect(invokers.every((grant) => grant.role === 'roles/run.invoker')).toBe(true);
    expect(invokers.map((grant) => [grant.name, grant.member]).sort()).toEqual(
      [
        [
          '${google_cloud_run_v2_service.service[each.key].name}',
          'serviceAccount:${google_service_account.eventarc.email}',
        ],
        ['${google_cloud_run_v2_service.service["dashboard"].name}', 'group:${var.dashboard_viewers_group}'],
      ].sort(),
    );
    expect(infra.variable.dashboard_viewers_group).toBeDefined();
  });

  it.each(SERVICES)('sets %s ingress: all for the dashboard, internal for the rest', (service) => {
    const ingress = String(resources(infra, 'google_cloud_run_v2_service').service?.ingress);
    const conditional = /^\$\{each\.key == "([a-z-]+)" \? "([A-Z_]+)" : "([A-Z_]+)"\}$/.exec(ingress);
    const value = conditional ? (service === conditional[1] ? conditional[2] : conditional[3]) : ingress;
    expect(value).toBe(service === 'dashboard' ? 'INGRESS_TRAFFIC_ALL' : 'INGRESS_TRAFFIC_INTERNAL_ONLY');
  });
});

describe('infra/: data', () => {
  it('moves bronze to Coldline at 90 days and deletes it at 365', () => {
    const rules = nestedAll(resources(infra, 'google_storage_bucket').lake, 'lifecycle_rule').map((rule) => ({
      condition: nested(rule, 'condition'),
      action: nested(rule, 'action'),
    }));
    const bronze = (age: number) =>
      rules.find(
        (rule) =>
          rule.condition?.age === age &&
          JSON.stringify(rule.condition?.matches_prefix) === JSON.stringify(['bronze/']) &&
          Object.keys(rule.condition ?? {}).length === 2,
      );
    expect(bronze(90)?.action).toEqual({ type: 'SetStorageClass', storage_class: 'COLDLINE' });
    expect(bronze(365)?.action).toEqual({ type: 'Delete' });
  });

  it('creates one topic per event schema, named by the schema, and each matches the event catalogue', () => {
    expect(resources(infra, 'google_pubsub_topic').event?.for_each).toBe('${local.event_topics}');
    expect(String(local<string>('event_topics'))).toContain('fileset(local.event_schema_dir, "mlops.*.json")');
    expect(String(local<string>('event_schema_dir'))).toBe('${path.module}/../schemas/events');
    const schemaDir = join(repoRoot, 'schemas', 'events');
    const fromSchemas = readdirSync(schemaDir)
      .filter((file) => /^mlops\..*\.json$/.test(file))
      .map((file) => {
        const description = String(JSON.parse(readFileSync(join(schemaDir, file), 'utf8')).description);
        const topic = /Topic: ([a-z][a-z0-9-]*)/.exec(description)?.[1];
        expect(topic, `${file}'s description names its topic ("Topic: <name>.")`).toBeDefined();
        return topic!;
      });
    expect(new Set(fromSchemas)).toEqual(new Set(topics.filter((topic) => topic !== 'dead-letter')));
  });

  it('declares the composite index of the run ledger cursor', () => {
    const indexes = local<Record<string, { collection: string; fields: string[][] }>>('firestore_indexes');
    expect(Object.values(indexes)).toContainEqual({
      collection: 'run_events',
      fields: [
        ['runId', 'ASCENDING'],
        ['recordedAt', 'ASCENDING'],
      ],
    });
    expect(resources(infra, 'google_firestore_index').composite?.for_each).toBe('${local.firestore_indexes}');
  });
});

describe('infra/: events and alerts', () => {
  it('routes dead letters to the dead-letters service, whose subscription never dead-letters', () => {
    expect(local<Record<string, { consumes: string[] }>>('services')['dead-letters']?.consumes).toEqual([
      'dead-letter',
    ]);
    const policy = resources(infra, 'terraform_data').trigger_delivery_policy;
    const command = String(nested(nested(policy, 'provisioner'), 'local-exec')?.command);
    expect(command).toMatch(
      /%\{if each\.value\.topic == "dead-letter"\}--clear-dead-letter-policy%\{else\}--dead-letter-topic=\$\{google_pubsub_topic\.dead_letter\.id\}/,
    );
    // The relay remembers the dead letters it announced (Firestore), and publishes only stage-failed.
    expect(local<Record<string, string[]>>('project_grants')['dead-letters']).toEqual(['roles/datastore.user']);
    // The subscription `mlops dlq list|redrive` reads: the Pub/Sub adapter's default name.
    expect(resources(infra, 'google_pubsub_subscription').dead_letter_listing).toMatchObject({
      name: 'dead-letter.listing',
      topic: '${google_pubsub_topic.dead_letter.id}',
    });
  });

  it('feeds Dataform and Vertex AI completions from Cloud Logging to the transformer and the trainer', () => {
    const filters = local<Record<string, string>>('completion_filters');
    expect(String(filters['dataform-completions'])).toContain(
      'dataform.googleapis.com%2Fworkflow_invocation_completion',
    );
    expect(String(filters['vertex-completions'])).toContain('aiplatform.googleapis.com%2Fpipeline_job_events');
    const services = local<Record<string, { consumes: string[] }>>('services');
    expect(services.transformer?.consumes).toContain('dataform-completions');
    expect(services.trainer?.consumes).toContain('vertex-completions');
    const sinkWriter = resources(infra, 'google_pubsub_topic_iam_member').sink_writer;
    expect(sinkWriter?.member).toBe('${google_logging_project_sink.completion[each.value].writer_identity}');
  });

  it('alerts on a stage.failed, a dead letter or a failed engine job, and on a run date not built in time', () => {
    const policies = Object.values(resources(infra, 'google_monitoring_alert_policy'));
    const conditions = policies.flatMap((policy) => nestedAll(policy, 'conditions'));
    const filters = conditions.map((condition) => String(nested(condition, 'condition_threshold')?.filter ?? ''));
    expect(filters.some((filter) => filter.includes('topic_id="stage-failed"'))).toBe(true);
    expect(filters.some((filter) => filter.includes('google_pubsub_topic.dead_letter.name'))).toBe(true);
    expect(filters.some((filter) => filter.includes('google_logging_metric.engine_job_failed.name'))).toBe(true);
    const deadline = conditions
      .map((condition) => String(nested(condition, 'condition_prometheus_query_language')?.query ?? ''))
      .find((query) => query.startsWith('absent_over_time('));
    expect(deadline).toContain('google_pubsub_topic.event["warehouse-ready"].name');
    expect(deadline).toContain('${var.warehouse_ready_deadline_hours}h]');
    expect(resources(infra, 'google_logging_metric').engine_job_failed).toBeDefined();
  });
});

describe('infra/: formatting', () => {
  const probe = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  const missing = probe.error ? `terraform is not installed (${probe.error.message})` : undefined;
  it.skipIf(missing !== undefined)(`is terraform fmt clean${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const fmt = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', infraDir], { encoding: 'utf8' });
    expect(fmt.status, fmt.stdout).toBe(0);
  });
});
