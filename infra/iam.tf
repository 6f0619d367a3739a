# Service accounts and what each may do. Every grant is on the narrowest resource the API allows;
# project-level grants exist only for roles that have no narrower resource, and only from the
# allow-list below (the Terraform test checks both).

locals {
  # Roles that can only be granted on the project.
  project_level_roles = [
    "roles/datastore.user",        # Firestore has no per-collection IAM
    "roles/datastore.viewer",      # likewise, read-only
    "roles/bigquery.jobUser",      # BigQuery jobs are created in a project
    "roles/aiplatform.user",       # Vertex AI pipeline jobs and models are project resources
    "roles/eventarc.eventReceiver" # an Eventarc trigger's identity receives events project-wide
  ]

  # Who holds which project-level role.
  project_grants = {
    "sales-gen"    = ["roles/datastore.user"]   # writes the day's orders
    "lander"       = ["roles/datastore.viewer"] # reads the day's orders
    "transformer"  = ["roles/datastore.user", "roles/bigquery.jobUser"]
    "trainer"      = ["roles/datastore.user", "roles/aiplatform.user", "roles/bigquery.jobUser"]
    "dashboard"    = ["roles/datastore.user", "roles/bigquery.jobUser"] # records and reads the run ledger
    "dataform"     = ["roles/bigquery.jobUser"]
    "vertex-steps" = ["roles/datastore.user", "roles/bigquery.jobUser"] # the register step writes the registry
    "eventarc"     = ["roles/eventarc.eventReceiver"]
  }

  # Every account: the services, and the identities of the scheduler, Dataform, the Vertex AI
  # pipeline steps and Eventarc's pushes.
  accounts = merge(
    { for service in keys(local.services) : service => google_service_account.service[service].email },
    {
      "scheduler"    = google_service_account.scheduler.email
      "dataform"     = google_service_account.dataform.email
      "vertex-steps" = google_service_account.vertex_steps.email
      "eventarc"     = google_service_account.eventarc.email
    },
  )

  # Lake access by object prefix: writers replace their own partitions, nothing else.
  lake_prefix_grants = {
    "click-gen"    = { role = "roles/storage.objectAdmin", prefix = "bronze/clickstream/" }
    "startup-gen"  = { role = "roles/storage.objectAdmin", prefix = "bronze/startups/" }
    "lander"       = { role = "roles/storage.objectAdmin", prefix = "bronze/sales/" }
    "trainer"      = { role = "roles/storage.objectAdmin", prefix = "mlops/" }
    "vertex-steps" = { role = "roles/storage.objectAdmin", prefix = "mlops/" }
  }

  # BigQuery datasets: who reads and who writes which layer.
  dataset_grants = {
    "dataform--bronze"        = { account = "dataform", dataset = "bronze", role = "roles/bigquery.dataEditor" }
    "dataform--staging"       = { account = "dataform", dataset = "staging", role = "roles/bigquery.dataEditor" }
    "dataform--warehouse"     = { account = "dataform", dataset = "warehouse", role = "roles/bigquery.dataEditor" }
    "dataform--assertions"    = { account = "dataform", dataset = "assertions", role = "roles/bigquery.dataEditor" }
    "transformer--staging"    = { account = "transformer", dataset = "staging", role = "roles/bigquery.dataViewer" }
    "transformer--warehouse"  = { account = "transformer", dataset = "warehouse", role = "roles/bigquery.dataViewer" }
    "trainer--warehouse"      = { account = "trainer", dataset = "warehouse", role = "roles/bigquery.dataViewer" }
    "dashboard--staging"      = { account = "dashboard", dataset = "staging", role = "roles/bigquery.dataViewer" }
    "dashboard--warehouse"    = { account = "dashboard", dataset = "warehouse", role = "roles/bigquery.dataViewer" }
    "vertex-steps--staging"   = { account = "vertex-steps", dataset = "staging", role = "roles/bigquery.dataViewer" }
    "vertex-steps--warehouse" = { account = "vertex-steps", dataset = "warehouse", role = "roles/bigquery.dataEditor" }
  }

  project_grant_pairs = merge([
    for account, roles in local.project_grants : { for role in roles : "${account}--${role}" => { account = account, role = role } }
  ]...)
}

resource "google_service_account" "service" {
  for_each     = local.services
  account_id   = "mlops-${each.key}"
  display_name = "mlops ${each.key} (Cloud Run)"
}

resource "google_service_account" "scheduler" {
  account_id   = "mlops-scheduler"
  display_name = "mlops scheduler (Cloud Scheduler and its Cloud Run job)"
}

resource "google_service_account" "dataform" {
  account_id   = "mlops-dataform"
  display_name = "mlops Dataform workflow invocations"
}

resource "google_service_account" "vertex_steps" {
  account_id   = "mlops-vertex-steps"
  display_name = "mlops Vertex AI pipeline steps"
}

resource "google_service_account" "eventarc" {
  account_id   = "mlops-eventarc"
  display_name = "mlops Eventarc push identity"
}

resource "google_project_iam_member" "grant" {
  for_each = local.project_grant_pairs
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${local.accounts[each.value.account]}"
  lifecycle {
    precondition {
      condition     = contains(local.project_level_roles, each.value.role)
      error_message = "${each.value.role} is not in project_level_roles: grant it on a narrower resource."
    }
  }
}

resource "google_storage_bucket_iam_member" "lake_prefix" {
  for_each = local.lake_prefix_grants
  bucket   = google_storage_bucket.lake.name
  role     = each.value.role
  member   = "serviceAccount:${local.accounts[each.key]}"
  condition {
    title       = "${each.key}-${trimsuffix(replace(each.value.prefix, "/", "-"), "-")}"
    description = "Objects under ${each.value.prefix}, and listing that prefix."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${var.lake_bucket}/objects/${each.value.prefix}\") || (resource.type == \"storage.googleapis.com/Bucket\" && api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"${each.value.prefix}\"))"
  }
}

# BigQuery reads bronze through external tables as the Dataform account.
resource "google_storage_bucket_iam_member" "dataform_reads_bronze" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.dataform.email}"
  condition {
    title       = "dataform-bronze"
    description = "Objects under bronze/, and listing that prefix."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${var.lake_bucket}/objects/bronze/\") || (resource.type == \"storage.googleapis.com/Bucket\" && api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"bronze/\"))"
  }
}

resource "google_bigquery_dataset_iam_member" "layer" {
  for_each   = local.dataset_grants
  dataset_id = google_bigquery_dataset.layer[each.value.dataset].dataset_id
  role       = each.value.role
  member     = "serviceAccount:${local.accounts[each.value.account]}"
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publishers
  topic    = local.all_topics[each.value.topic]
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${local.accounts[each.value.service]}"
}

resource "google_pubsub_topic_iam_member" "scheduler_starts_runs" {
  topic  = google_pubsub_topic.event["pipeline-start"].id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.scheduler.email}"
}

# Only sales-gen pseudonymises PII.
resource "google_secret_manager_secret_iam_member" "sales_gen_pii_key" {
  secret_id = var.pii_hmac_key_secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.service["sales-gen"].email}"
}

# The transformer starts Dataform invocations on its repository, run as the Dataform account
# (strict act-as: the caller must be allowed to act as the invocation's account).
resource "google_dataform_repository_iam_member" "transformer_invokes" {
  provider   = google-beta
  repository = google_dataform_repository.mlops.name
  region     = var.region
  role       = "roles/dataform.editor"
  member     = "serviceAccount:${google_service_account.service["transformer"].email}"
}

resource "google_service_account_iam_member" "transformer_acts_as_dataform" {
  service_account_id = google_service_account.dataform.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.service["transformer"].email}"
}

# The trainer submits Vertex AI pipeline jobs that run as the steps' account, and no other.
resource "google_service_account_iam_member" "trainer_acts_as_vertex_steps" {
  service_account_id = google_service_account.vertex_steps.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.service["trainer"].email}"
}

# The Dataform service agent mints the Dataform account's tokens and reads the git token, nothing else.
locals {
  dataform_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-dataform.iam.gserviceaccount.com"
  pubsub_agent   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_service_account_iam_member" "dataform_agent_token_creator" {
  service_account_id = google_service_account.dataform.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.dataform_agent
  depends_on         = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "dataform_agent_git_token" {
  secret_id  = var.dataform_git_token_secret
  role       = "roles/secretmanager.secretAccessor"
  member     = local.dataform_agent
  depends_on = [google_project_service.apis]
}

# Pub/Sub's agent signs the push identity's OIDC tokens (projects created before April 2021 need it).
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  service_account_id = google_service_account.eventarc.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Operators: start runs and backfills, list and redrive dead letters.
resource "google_pubsub_topic_iam_member" "operators_publish" {
  for_each = var.operators_group == "" ? {} : local.all_topics
  topic    = each.value
  role     = "roles/pubsub.publisher"
  member   = "group:${var.operators_group}"
}

resource "google_pubsub_subscription_iam_member" "operators_read_dead_letters" {
  for_each     = var.operators_group == "" ? toset([]) : toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])
  subscription = google_pubsub_subscription.dead_letter_listing.id
  role         = each.value
  member       = "group:${var.operators_group}"
}
